"""Sweeps on the Robustness page beyond the one open: the live progress of a sweep being written (from this
page, the command line or a Ray cluster's driver), and the leaderboard across stored sweeps."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.results import ResultsDB, ResultsError, compare
from core.results.comparison import Comparison
from core.results.progress import sweep_progress

REFRESH_S = 2.0  # how often the progress of a sweep that is not complete is read again


def live_progress(path: str, eid: int) -> None:
    """A progress bar of experiment ``eid`` with its rate and time left, read again from the database every
    :data:`REFRESH_S` seconds; when the sweep completes, the whole page runs again with every row."""

    @st.fragment(run_every=REFRESH_S)
    def show() -> None:
        try:
            with ResultsDB(path, create=False) as db:
                progress = sweep_progress(db.get_experiment(eid))
        except ResultsError as exc:
            st.error(str(exc))
            return
        if progress.complete:
            st.rerun()
        st.progress(progress.fraction, text=progress.sentence())

    show()


@st.cache_data(show_spinner=False, max_entries=8)
def comparison(path: str, stamp: tuple, ids: tuple[int, ...]) -> Comparison:
    with ResultsDB(path, create=False) as db:
        return compare(db, list(ids))


def compare_view(path: str, stamp: tuple, eid: int, experiments: pd.DataFrame) -> None:
    """Rank the models of the open sweep with those of other stored sweeps picked here, on the conditions all
    of them measured; a sweep that cannot be compared is named with the reason."""
    others = [int(i) for i in experiments["id"][::-1] if int(i) != eid]
    if not others:
        return
    st.subheader("Leaderboard across sweeps")
    titles = {int(r.id): f"#{r.id} {r.name} · {r.checkpoints} · {r.clips} clips" for r in experiments.itertuples()}
    chosen = st.multiselect("Compare with", others, key=f"rob_compare_{eid}", format_func=titles.get,
                            help="Other stored sweeps of the same clips, seed and suite; only the conditions every "
                                 "one of them measured count.")
    if not chosen:
        st.caption("Pick other sweeps to rank their models with this one's (fused head, same clips and seed).")
        return
    try:
        result = comparison(path, stamp, (eid, *chosen))
    except ResultsError as exc:
        st.warning(str(exc))
        return
    for note in result.notes:
        st.caption(note)
    st.dataframe(result.table.drop(columns=["suite"]), hide_index=True, key="rob_compare_table", column_config={
        c: st.column_config.NumberColumn(label, format="percent") for c, label in (
            ("clean_accuracy", "clean acc."), ("mpc", "mPC"), ("rpc", "rPC"), ("mce", "mCE"),
            ("relative_mce", "relative mCE"))} | {
        "alpha": st.column_config.NumberColumn("α", format="%.3f"),
        "rho": st.column_config.NumberColumn("ρ", format="%.3f"),
        "experiment": st.column_config.NumberColumn("sweep", format="#%d"),
        "conditions": st.column_config.NumberColumn("conditions counted"),
        "model_hash": st.column_config.TextColumn("model hash")})


__all__ = ["REFRESH_S", "live_progress", "comparison", "compare_view"]
