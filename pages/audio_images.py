"""Audio-images: a representation of the clip's audio as a readable figure (time in seconds, frequency in
Hz, a colour bar in dB), clean against corrupted on one scale and their difference; every representation
as the fixed-size image a CNN is fed; the video frames as the model sees them."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import representations
from core.audio_figures import representation_figure
from core.inference import split_steps
from ui import analysis, session
from ui.widgets import page_inputs, representation_params

st.title("Audio-images")
st.caption("The clip's audio as images (MAiVAR's six, mel, CQT, gammatone), clean vs corrupted.")
ref, _, clip = page_inputs("images", need_model=False)
steps, seed = session.corruptions(), session.seed()
audio_steps, video_steps = split_steps(steps)
applied = ", ".join(f"{n} {s}" for n, s in steps) or "none (set them in the Corruption Lab)"
st.caption(f"Corruptions: {applied} · seed {seed}")

if not clip.has_audio:
    st.info("This clip has no audio track, so there are no audio-images.")
else:
    with st.expander("Parameters", expanded=False):
        params = {}
        for name, spec in representations.REGISTRY.items():
            st.markdown(f"**{spec.label}** — {spec.doc}")
            params[name] = representation_params(name, spec.defaults)
    a_seed = analysis.seed_for(audio_steps, seed)
    names = representations.names()
    chosen = st.selectbox("Representation", names, index=names.index("mel"), key="img_readable",
                          format_func=lambda n: representations.REGISTRY[n].label)
    try:
        with st.spinner("Computing…"):
            clean = analysis.representation(ref.key, (), 0, chosen, params[chosen], ref)
            broken = analysis.representation(ref.key, audio_steps, a_seed, chosen, params[chosen], ref) \
                if audio_steps else None
        st.plotly_chart(representation_figure(clean, broken, title=representations.REGISTRY[chosen].label),
                        key="img_figure", config={"displaylogo": False})
        level = "on one absolute level scale (dB re 1, as librosa.power_to_db(S, ref=1.0)), so a quieter or " \
                "louder clip looks quieter or louder; " if clean.absolute() is not clean else ""
        st.caption("Time in seconds across, the bins up (as librosa.display.specshow draws them); "
                   + (f"clean and corrupted share one colour scale {level}right: corrupted minus clean. "
                      if broken is not None else "no audio corruption is applied, so there is nothing to compare. ")
                   + "Hover for the values.")
    except (representations.RepresentationError, ValueError) as exc:
        st.error(str(exc))

    st.subheader("CNN input: every representation as a fixed-size image")
    size = st.select_slider("Image height (px)", [96, 128, 160, 224], value=128, key="img_size")
    st.caption("What an image CNN is fed (core.representations.to_image): no axes, and each image scaled to its "
               "own minimum and maximum, so a level change does not show here; read levels in the figure above.")
    with st.spinner("Drawing the audio-images…"):
        for row in range(0, len(representations.REGISTRY), 3):
            names_row = list(representations.REGISTRY)[row:row + 3]
            for column, name in zip(st.columns(3), names_row):
                with column:
                    st.markdown(f"**{representations.REGISTRY[name].label}**")
                    try:
                        clean_image = analysis.audio_image(ref.key, (), 0, name, params[name], size, ref)
                        broken_image = analysis.audio_image(ref.key, audio_steps, a_seed, name, params[name], size, ref)
                    except (representations.RepresentationError, ValueError) as exc:
                        st.error(str(exc))
                        continue
                    for sub, image, kind in zip(st.columns(2), (clean_image, broken_image), ("clean", "corrupted")):
                        sub.image(image, caption=kind, width="stretch")
                        sub.download_button("PNG", analysis.png_bytes(image), file_name=f"{ref.name}_{name}_{kind}.png",
                                            mime="image/png", key=f"img_dl_{name}_{kind}")

st.subheader("Video frames as the model sees them (112 × 112)")
if not clip.has_video:
    st.info("This clip has no video track.")
else:
    v_seed = analysis.seed_for(video_steps, seed)
    for kind, chosen_steps, s in (("clean", (), 0), ("corrupted", video_steps, v_seed)):
        frames = analysis.model_frames(ref.key, chosen_steps, s, 8, 112, ref)
        st.image(np.concatenate(list(frames), axis=1), caption=f"{kind}: {len(frames)} frames, uniformly sampled")
