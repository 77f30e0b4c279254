"""The report's readable tables on a page: named columns, percentages, a reason for every missing value, and
the whole table on screen (its height follows its rows; a wide table is split into narrower ones)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.report.readable import column_help, leaderboard_views


def readable_table(table: pd.DataFrame, *, key: str) -> None:
    """``table`` (already written as text by :func:`core.report.readable.view`) with every row and column shown."""
    st.dataframe(table, hide_index=True, key=key, height="content", width="stretch")


def leaderboard(board: pd.DataFrame, *, key: str) -> None:
    """The leaderboard as four tables (robustness; fusion; missing senses; models), keys ``key``, ``key_fusion``,
    ``key_senses`` and ``key_models``, with a caption saying what each abbreviation means."""
    for (title, table), suffix in zip(leaderboard_views(board).items(), ("", "_fusion", "_senses", "_models")):
        if suffix:
            st.markdown(f"**{title}**")
        readable_table(table, key=key + suffix)
    st.caption(column_help())


__all__ = ["readable_table", "leaderboard"]
