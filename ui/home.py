"""The Home page's "start here": the default model's card in two lines and the headline robustness result."""
from __future__ import annotations

from pathlib import Path

from core import report as reports
from core.models import is_checkpoint, read_metadata
from core.report.sentences import percent
from core.results import ResultsError
from ui import robustness as rob
from ui.models import ModelChoice


def model_card(choice: ModelChoice) -> list[str]:
    """Two lines on a model: what it is, and how it scores on its test clips (from its model card's metadata;
    a model of another format is described by its picker title)."""
    if not is_checkpoint(Path(choice.path)):
        return [f"**{choice.name}**: {choice.title.partition(' · ')[2]}.",
                "Its own model card is not in avlab's format; sweep it on the Robustness page to measure it."]
    meta = read_metadata(choice.path)
    model, test = meta["model"], ((meta.get("metrics") or {}).get("test") or {})
    video, audio = model.get("video_kwargs", {}), model.get("audio_kwargs", {})
    first = (f"**{choice.name}**: {model['fusion']} fusion of a {model['video_encoder']} video encoder "
             f"({video.get('num_frames', '?')} frames at {video.get('size', '?')} px) and a {model['audio_encoder']} "
             f"audio encoder ({audio.get('seconds', 5.0):g} s of sound), {meta.get('parameter_count', 0):,} parameters, "
             f"{len(meta['classes'])} classes.")
    if not test:
        return [first, "No test measurements are stored with it."]
    n = test.get("fused", {}).get("n")
    second = (f"On {n} factory-av test clips its fused head is right {percent(test['fused']['accuracy'])} of the time; "
              f"audio alone {percent(test['audio']['accuracy'])}, video alone {percent(test['video']['accuracy'])}.")
    return [first, second]


def headline(choice: ModelChoice | None) -> tuple[str, str] | None:
    """(the headline robustness sentence, where it comes from) from the shipped results, else the user's own
    sweeps; None when neither holds a sweep."""
    for path in (str(rob.SHIPPED_DB), rob.own_path()):
        if not rob.has_sweeps(path):
            continue
        stamp = rob.stamp(path)
        table = rob.experiments(path, stamp)
        eid = int(table["id"].iloc[-1])
        try:
            exp = rob.experiment(path, stamp, eid)
            board = reports.leaderboard(rob.summary(path, stamp, eid, None), exp)
        except ResultsError:
            continue
        if board.empty:
            continue
        best = board.iloc[0]
        names = list(board["checkpoint"])
        levels = sorted({int(c.rpartition(":")[2]) for c in exp["conditions"] if c != "clean"})
        who = f"the most robust of {len(names)} models is **{best['checkpoint']}** ({best['fusion']} fusion): its" \
            if len(names) > 1 else f"**{best['checkpoint']}** ({best['fusion']} fusion):"
        text = (f"Under {int(best['corruptions'])} corruption{'s' if best['corruptions'] != 1 else ''} at "
                f"severit{'ies' if len(levels) != 1 else 'y'} {', '.join(map(str, levels))}, {who} fused head keeps "
                f"{percent(best['mpc'])} accuracy on average (mPC), against {percent(best['clean_accuracy'])} on clean "
                f"clips.")
        if choice is not None and choice.name in names and choice.name != best["checkpoint"]:
            mine = board.set_index("checkpoint").loc[choice.name]
            text += (f" The default model, {choice.name}, keeps {percent(mine['mpc'])} "
                     f"(clean {percent(mine['clean_accuracy'])}).")
        source = rob.shipped_note(path) or f"From your sweep #{eid} in {path}."
        return text, source
    return None


__all__ = ["model_card", "headline"]
