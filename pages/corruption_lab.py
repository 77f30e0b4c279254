"""Corruption Lab: break a clip (mute, blur, noise, any registered corruption) and watch the heads move."""
from __future__ import annotations

import streamlit as st

from core.media import MediaError
from ui import analysis, charts, session
from ui.models import heads_note
from ui.prefetch import prefetch
from ui.widgets import (
    audio_player, corruption_controls, heads_summary, padding_notice, page_inputs, player, sweep_comparison,
    weights_caption,
)

st.title("Corruption Lab")
st.caption("Corrupt the current clip and compare the three heads before and after.")
ref, info, clip = page_inputs("lab")


@st.fragment
def lab(ref, info, clip) -> None:
    """The part a toggle or a slider changes: corruption controls, predictions, charts, players. A fragment,
    so a change reruns only this (not the sidebar, the clip picker, the decoding checks)."""
    steps, seed = corruption_controls()

    clean = analysis.predict(info, ref)
    before = clean.overall
    with st.spinner("Predicting…"):
        after = analysis.predict(info, ref, steps, seed).overall
    applied = ", ".join(f"{n} {s}" for n, s in steps) or "none"
    st.subheader(f"Predictions: before → after (corruptions: {applied})")
    if note := after.unfamiliar_note():
        st.warning(note if before.unfamiliar_note() else "After the corruption: " + note[0].lower() + note[1:])
    heads_summary(after, before)
    if (row := session.from_sweep()) is not None and row.matches(ref.key, info.key, steps, seed):
        st.info(sweep_comparison(row, after))
    padding_notice(clean)
    if note := heads_note(info):
        st.caption(note)
    st.caption(weights_caption(after, before) + f" · model {info.name}")
    st.plotly_chart(charts.probability_bars(after, before), key="lab_bars", config={"displayModeBar": False})
    if after.weights is not None and before.weights is not None:
        st.plotly_chart(charts.weights_bar(before.weights, after.weights), key="lab_weights",
                        config={"displayModeBar": False})

    original, broken = st.columns(2)
    corrupted = analysis.corrupted(ref, steps, seed)
    try:
        with original:
            player(clip, analysis.preview_mp4(ref.key, (), 0, ref) if clip.has_video else None, caption="Original")
            if clip.has_audio and clip.has_video:
                audio_player(clip.audio, clip.sr)
        with broken:
            video = analysis.preview_mp4(ref.key, steps, analysis.seed_for(steps, seed), ref) if corrupted.has_video else None
            player(corrupted, video, caption=f"Corrupted ({applied})")
            if corrupted.has_audio and corrupted.has_video:
                audio_player(corrupted.audio, corrupted.sr)
    except MediaError as exc:
        st.error(str(exc))
    # the other severities of what is applied, computed in the background: a slider move then hits the cache
    prefetch(info, ref, steps, seed)


lab(ref, info, clip)
