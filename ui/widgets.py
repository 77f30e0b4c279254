"""Widgets shared by the prediction pages: the clip picker, head summaries, corruption controls."""
from __future__ import annotations

import io
import wave

import numpy as np
import streamlit as st

from core import corruptions
from core.corruptions import suites
from core.inference import HEADS, Prediction
from core.media import MediaError
from ui import access, limits, session
from ui.analysis import MAX_SECONDS, decoded, media_info, preview_mp4
from ui.charts import HEAD_TITLES
from ui.data import current_dataset
from ui.models import current_model, load_predictor

# Named in the uploader's help; no type filter, so any file reaches load_clip and a wrong one gets
# its one-sentence MediaError instead of a widget exception.
UPLOAD_FORMATS = "mp4, mov, webm, mkv, avi; audio-only wav, mp3, flac, ogg; video-only files"
LAST = ("mute", "video_off")
UPLOAD_REFUSED = "avlab_upload_refused"  # the sentence for an upload over the limit, shown on the next run
EVERYDAY_LABELS = {"mute": "Mute (microphone dead)", "blur": "Blur (dirty lens)", "noise": "Noise (noisy microphone)"}


def _on_upload(key: str) -> None:
    uploaded = st.session_state.get(key)
    if uploaded is not None:
        if (refusal := limits.upload_refusal(uploaded.size)) is not None:  # the limit Streamlit's uploader has
            st.session_state[UPLOAD_REFUSED] = refusal
            return
        session.set_clip(session.upload_ref(uploaded.name, uploaded.getvalue()))


def _on_sample(key: str, samples: dict, prefix: str) -> None:
    name = st.session_state.get(key)
    if name in samples:
        path, label, segments = samples[name]
        session.set_clip(session.sample_ref(path, label=label, segments=segments))
        # a new uploader (another key) replaces the one still holding the last upload's file chip
        st.session_state[f"{prefix}_upload_generation"] = st.session_state.get(f"{prefix}_upload_generation", 0) + 1


def upload_key(prefix: str) -> str:
    """The uploader's key: ``<prefix>_upload``, then ``<prefix>_upload_<n>`` after the n-th sample pick emptied it."""
    generation = st.session_state.get(f"{prefix}_upload_generation", 0)
    return f"{prefix}_upload" + (f"_{generation}" if generation else "")


def clip_picker(prefix: str, *, upload: bool = True) -> session.ClipRef | None:
    """Upload a clip or pick a sample; the choice is shared by every page. Returns the current clip."""
    data = current_dataset()
    samples = {s.name: (str(s.source), s.label, s.segments) for s in (data.samples if data else ())
               if all(f.exists() for f in s.files)}
    ref = session.current_clip()
    if ref is not None and ref.path is not None and (refusal := access.clip_refusal(ref.source)):
        st.error(refusal)  # e.g. a sweep's clip from elsewhere, on a restricted server: a sample instead
        ref = None
    if ref is None and samples:
        first = next(iter(samples))
        ref = session.sample_ref(samples[first][0], label=samples[first][1], segments=samples[first][2])
        session.set_clip(ref)
    sample_key = f"{prefix}_sample"
    st.session_state[sample_key] = ref.name if ref is not None and ref.path and ref.name in samples else None
    left, right = st.columns(2) if upload else (None, st.container())
    if upload:
        limit = limits.upload_limit_mb()
        key = upload_key(prefix)
        left.file_uploader(
            f"Upload a clip (video, audio-only or video-only; up to {limit} MB and {MAX_SECONDS:g} s)", key=key,
            on_change=_on_upload, args=(key,),
            help=f"{UPLOAD_FORMATS}. The limit is server.maxUploadSize = {limit} MB in .streamlit/config.toml.")
        if refusal := st.session_state.pop(UPLOAD_REFUSED, None):
            left.error(refusal)
    right.selectbox("…or pick a sample clip", list(samples), key=sample_key, index=None,
                    placeholder="Pick a sample clip", on_change=_on_sample, args=(sample_key, samples, prefix))
    if ref is not None:
        truth = f" · true class **{ref.label}**" if ref.label else ""
        if ref.segments:
            truth = " · true timeline " + " → ".join(f"**{lab}** from {s:.1f} s" for s, _, lab in ref.segments)
        st.caption(f"Current clip: **{ref.name}**{truth}")
    return ref


def heads_summary(pred: Prediction, before: Prediction | None = None) -> None:
    """The three heads' top classes side by side, with the change from ``before`` when given.

    A head that abstains (no input: :meth:`Prediction.answered`) shows "no input" and no change."""
    for column, head in zip(st.columns(3), HEADS):
        label, p = pred.top(head)
        missing = not pred.answered(head)
        delta = {}
        if before is not None and not missing and before.answered(head):
            old_label, _ = before.top(head)
            k = pred.classes.index(old_label)
            delta = change_delta(f"{float(pred.probs[head][k] - before.probs[head][k]):+.1%}", old_label)
        ablation = pred.head_kinds.get(head) == "ablation"
        column.metric(HEAD_TITLES[head] + (" (missing)" if missing else "") + (" · by ablation" if ablation else ""),
                      "no input" if missing else f"{label} {p:.0%}", **delta,
                      help="The model has no such head: this is the whole model fed the clip "
                           "with the other modality zeroed and masked." if ablation else None)


def change_delta(shown: str, what: str) -> dict:
    """``st.metric`` delta arguments for a change written as ``shown`` ("+1.2%", "-3 points"): the change with
    its coloured arrow, or, when it is written as zero ("+0.0%", "-0"), "no change" with neither arrow nor
    colour (a "+0.0%" with a green arrow claims a rise that is not there)."""
    number = shown.lstrip("+-").split()[0].rstrip("%")
    if float(number) == 0:
        return {"delta": f"no change ({what})" if what else "no change", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{shown} {what}".rstrip()}


def input_notes(clip, pred: Prediction) -> list[str]:
    """Why a stream the file has gave the model no input (silent audio, a black picture)."""
    notes = []
    if clip.has_audio and not pred.present["audio"]:
        notes.append("The audio track is silent (digital silence, or only a constant offset, which carries no "
                     "sound), so the audio head has no input.")
    if clip.has_video and not pred.present["video"]:
        notes.append("The picture is black throughout, so the video head has no input.")
    return notes


def padding_notice(result) -> None:
    """How much of the model's window is padding: a warning from half on, else a caption."""
    if note := result.padding_note():
        (st.warning if result.padding >= 0.5 else st.caption)(note)


def timeline_caption(result) -> str:
    """What a timeline's decision rests on: each segment's windows, mean probability and modality weights, and
    what the one mean over every window would have said instead."""
    parts = result.segments()
    label, p = result.overall.top("fused")
    said = []
    for s in parts:
        weights = f", audio weight {s.weights[0]:.0%}, video {s.weights[1]:.0%}" if s.weights is not None else ""
        said.append(f"{s.label or 'no input'} in {s.windows} window{'s' if s.windows != 1 else ''}"
                    + (f" (mean {s.probability:.0%}{weights})" if s.label else ""))
    text = "The fused head window by window: " + "; ".join(said) + "."
    if len(parts) > 1 and result.overall.answered("fused"):
        text += (f" One mean over all {len(result.windows)} windows would say {label} {p:.0%}, mixing the "
                 f"clip's states.")
    return text


def window_rows(result) -> list[dict]:
    """One row per window: its times, each head's answer, the fused probability and the modality weights."""
    rows = []
    for w in result.windows:
        pred = w.prediction
        row = {"start (s)": w.start, "end (s)": w.end,
               **{HEAD_TITLES[h]: pred.label(h) or "no input" for h in HEADS},
               "fused probability": f"{pred.top('fused')[1]:.0%}" if pred.answered("fused") else "no input"}
        if pred.weights is not None:
            answered = pred.answered("fused")
            row["audio weight"] = f"{pred.weights[0]:.0%}" if answered else "no input"
            row["video weight"] = f"{pred.weights[1]:.0%}" if answered else "no input"
        rows.append(row)
    return rows


def sweep_comparison(row: session.FromSweep, pred: Prediction) -> str:
    """The probabilities a sweep stored for this clip beside the ones on screen, and how far apart they are."""
    said, gaps = [], []
    for head in HEADS:
        if head not in row.probs:
            continue
        stored = np.asarray(row.probs[head], float)
        if not row.answered.get(head, True):
            said.append(f"{HEAD_TITLES[head].lower()} no input")
            continue
        k = int(stored.argmax())
        said.append(f"{HEAD_TITLES[head].lower()} {row.classes[k]} {stored[k]:.0%}")
        if pred.answered(head) and tuple(pred.classes) == tuple(row.classes):
            gaps.append(float(np.abs(np.asarray(pred.probs[head], float) - stored).max()))
    applied = ", ".join(f"{n} {s}" for n, s in row.steps) or "no corruption"
    text = (f"Opened from sweep #{row.experiment} with {row.model}, {applied}, seed {row.seed}. The sweep stored: "
            + "; ".join(said) + ".")
    if gaps:
        gap = 100 * max(gaps)
        text += (" The predictions here are the same (every class probability within 0.5 points)." if gap < 0.5 else
                 f" The predictions here differ from the stored ones by up to {gap:.1f} points.")
    return text


def weights_caption(pred: Prediction, before: Prediction | None = None) -> str:
    if not pred.answered("fused"):
        return "No input reached the model, so there are no modality weights."
    if pred.weights is None:
        return "This model reports no modality weights."
    now = f"audio {pred.weights[0]:.0%} · video {pred.weights[1]:.0%}"
    if before is None or before.weights is None:
        return f"Modality weights: {now}"
    return (f"Modality weights: audio {before.weights[0]:.0%} → {pred.weights[0]:.0%} · "
            f"video {before.weights[1]:.0%} → {pred.weights[1]:.0%}")


def corruption_controls(prefix: str = session.LAB_WIDGET_PREFIX) -> tuple[tuple[tuple[str, int], ...], int]:
    """Toggles for mute/blur/noise, a picker over the registry, a severity slider each, a seed.

    A single-level corruption (``mute``, ``video_off``) gets no slider: it is applied at severity 1.

    Widgets start from the shared corruption state and write it back, so the choice
    survives page changes and can be set by ``session.open_in_lab``.
    """
    steps = dict(session.corruptions())
    everyday = corruptions.EVERYDAY
    for short, name in everyday.items():
        st.session_state.setdefault(f"{prefix}toggle_{short}", name in steps)
    st.session_state.setdefault(f"{prefix}picked", [n for n in steps if n not in everyday.values()])
    st.session_state.setdefault(f"{prefix}seed", session.seed())
    for name, severity in steps.items():
        st.session_state.setdefault(f"{prefix}sev_{name}", severity)

    cols = st.columns(3)
    for column, (short, name) in zip(cols, everyday.items()):
        column.toggle(EVERYDAY_LABELS[short], key=f"{prefix}toggle_{short}", help=corruptions.get(name).doc)
    suite_col, left, right = st.columns([1, 3, 1])
    suite = suite_col.selectbox("From", ["all", *suites.names()], key=f"{prefix}suite",
                                format_func=lambda n: "every corruption" if n == "all" else
                                "avlab's own" if n == "avlab" else suites.suite(n).title,
                                help="Offer the corruptions of one published suite (ImageNet-C, Kinetics-C, READ, "
                                     "AVRobustBench) or every registered one.")
    offered = corruptions.names() if suite == "all" else \
        [n for n in suites.suite(suite).corruptions if n in corruptions.REGISTRY]
    offered += [n for n in st.session_state[f"{prefix}picked"] if n not in offered]  # keep what is applied
    picked = left.multiselect("More corruptions", offered, key=f"{prefix}picked",
                              format_func=lambda n: f"{corruptions.label(n)} ({corruptions.get(n).modality})")
    active = [name for short, name in everyday.items() if st.session_state[f"{prefix}toggle_{short}"]]
    active += [n for n in picked if n not in active]
    chosen: list[tuple[str, int]] = []
    sliders = [n for n in active if len(corruptions.levels(n)) > 1]
    for column, name in zip(st.columns(max(1, min(3, len(sliders)))), sliders):
        key = f"{prefix}sev_{name}"
        st.session_state.setdefault(key, 3)
        column.slider(f"{corruptions.label(name)} severity", 1, 5, key=key, help=corruptions.get(name).doc)
    # A dead microphone or camera comes last: nothing applied after it should bring the signal back.
    chosen += order_steps(active, {n: int(st.session_state.get(f"{prefix}sev_{n}", 3)) for n in sliders})
    seed = int(right.number_input("Seed (random corruptions)", min_value=0, max_value=2**31 - 1, step=1,
                                  key=f"{prefix}seed"))
    session.set_corruptions(chosen, seed=seed)
    return tuple(chosen), seed


def order_steps(active, severities: dict) -> list[tuple[str, int]]:
    """The corruptions ``active`` (toggles first, then picked) as applied: a dead microphone or camera last (so
    nothing applied after it brings the signal back), each at its severity (3 by default, 1 for a corruption
    of one level)."""
    return [(n, int(severities.get(n, 3)) if len(corruptions.levels(n)) > 1 else 1)
            for n in sorted(active, key=lambda n: n in LAST)]


def toggled(steps) -> list[tuple[tuple[str, int], ...]]:
    """The corruption lists one everyday toggle away from ``steps`` (each of mute / blur / noise switched on at
    its default severity, or off), as the Lab's controls would apply them."""
    names = [n for n, _ in steps]
    severities = dict(steps)
    everyday = list(corruptions.EVERYDAY.values())
    out = []
    for name in everyday:
        active = [n for n in names if n != name] if name in names else \
            [n for n in everyday if n in names or n == name] + [n for n in names if n not in everyday]
        out.append(tuple(order_steps(active, severities)))
    return out


def page_inputs(prefix: str, *, need_model: bool = True, upload: bool = True):
    """The clip picker, then (current clip, model choice, decoded clip); stops the page with one sentence if any fails."""
    ref = clip_picker(prefix, upload=upload)
    if ref is None:
        st.info("Upload a clip or pick a sample to start.")
        st.stop()
    info = current_model() if need_model else None
    if need_model and (info is None or load_predictor(info) is None):
        st.stop()
    try:
        with st.spinner(f"Decoding {ref.name}…"):
            clip = decoded(ref.key, ref)
    except MediaError as exc:
        st.error(str(exc))
        st.stop()
    return ref, info, clip


def player(clip, video_bytes: bytes | None, *, caption: str = "") -> None:
    """A video player (H.264/AAC MP4) or, for an audio-only clip, an audio player."""
    if caption:
        st.caption(caption)
    if clip.has_video and video_bytes is not None:
        st.video(video_bytes, format="video/mp4")
    elif clip.has_audio:
        audio_player(clip.audio, clip.sr)


def file_player(path, *, caption: str = "") -> None:
    """A player for a data set's file, as Predict plays a clip (:func:`ui.analysis.preview_mp4`: the file
    itself, or an H.264 re-encode where a browser cannot play it, e.g. HEVC); an audio player for an
    audio-only file; a warning naming a file that cannot be decoded. ``path`` may be a pair of video and audio
    files (``Sample.source``): it plays as the one clip they make, its caption naming both files."""
    ref = session.sample_ref(path)
    if caption:
        st.caption(caption)
    try:
        data = preview_mp4(ref.key, (), 0, ref)
    except MediaError as exc:
        st.warning(f"{ref.name} could not be decoded: {exc}")
        return
    try:
        audio_only = not media_info(ref.key, ref).get("video_codec")
    except MediaError:  # the first instant did not decode, the whole file did
        audio_only = False
    if audio_only:
        st.audio(data, format="audio/mp4")
    else:
        st.video(data, format="video/mp4")


def audio_player(y, sr: int) -> None:
    """``st.audio`` of a 16-bit WAV at ``sr`` Hz, levels kept as they are (st.audio would normalise a
    numpy array to its peak, hiding a level change, and cannot normalise silence)."""
    pcm = (np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    st.audio(buffer.getvalue(), format="audio/wav")


def representation_params(name: str, defaults: dict, *, prefix: str = "img") -> tuple:
    """Number inputs for a representation's parameters; returns them as a hashable tuple of items."""
    values = {}
    for column, (param, default) in zip(st.columns(max(1, len(defaults))), defaults.items()):
        key = f"{prefix}_{name}_{param}"
        if isinstance(default, int):
            values[param] = int(column.number_input(param, min_value=1, value=default, step=1, key=key))
        else:
            values[param] = float(column.number_input(param, min_value=0.0, value=float(default), key=key,
                                                      format="%.3f"))
    return tuple(sorted(values.items()))
