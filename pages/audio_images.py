"""Audio-images: every registered representation of the clip's audio, clean vs corrupted, and the
video frames as the model sees them."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import representations
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
size = st.select_slider("Image height (px)", [96, 128, 160, 224], value=128, key="img_size")


if not clip.has_audio:
    st.info("This clip has no audio track, so there are no audio-images.")
else:
    with st.expander("Parameters", expanded=False):
        params = {}
        for name, spec in representations.REGISTRY.items():
            st.markdown(f"**{spec.label}** — {spec.doc}")
            params[name] = representation_params(name, spec.defaults)
    a_seed = analysis.seed_for(audio_steps, seed)
    with st.spinner("Drawing the audio-images…"):
        for row in range(0, len(representations.REGISTRY), 3):
            names = list(representations.REGISTRY)[row:row + 3]
            for column, name in zip(st.columns(3), names):
                with column:
                    st.markdown(f"**{representations.REGISTRY[name].label}**")
                    try:
                        clean = analysis.audio_image(ref.key, (), 0, name, params[name], size, ref)
                        broken = analysis.audio_image(ref.key, audio_steps, a_seed, name, params[name], size, ref)
                    except (representations.RepresentationError, ValueError) as exc:
                        st.error(str(exc))
                        continue
                    for sub, image, kind in zip(st.columns(2), (clean, broken), ("clean", "corrupted")):
                        sub.image(image, caption=kind, width="stretch")
                        sub.download_button("PNG", analysis.png_bytes(image), file_name=f"{ref.name}_{name}_{kind}.png",
                                            mime="image/png", key=f"img_dl_{name}_{kind}")

st.subheader("Video frames as the model sees them (112 × 112)")
if not clip.has_video:
    st.info("This clip has no video track.")
else:
    v_seed = analysis.seed_for(video_steps, seed)
    for kind, chosen, s in (("clean", (), 0), ("corrupted", video_steps, v_seed)):
        frames = analysis.model_frames(ref.key, chosen, s, 8, 112, ref)
        st.image(np.concatenate(list(frames), axis=1), caption=f"{kind}: {len(frames)} frames, uniformly sampled")
