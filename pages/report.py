"""Report: a stakeholder view of a stored sweep in plain words, its key charts, and the export
(a self-contained HTML report and the tables as CSV)."""
from __future__ import annotations

import streamlit as st

from core import report as reports
from core.results import ResultsError
from ui import robustness as rob
from ui import tables as readable

st.title("Report")
st.caption("What the stored results say, in plain words: which fusion holds up best, what everyday failures "
           "cost, which classes suffer. Every sentence is computed from the results database.")
path = rob.database_picker()
eid = rob.experiment_picker("report_experiment")
if eid is None:
    st.info(f"No sweep is stored in {path} yet; run one on the Robustness page first.")
    st.stop()
try:
    stamp = rob.stamp(path)
    reference = st.selectbox("mCE reference", rob.reference_choices(rob.experiment(path, stamp, eid)),
                             key=f"report_reference_{eid}",
                             format_func=lambda r: "AlexNet (ImageNet-C's published errors)" if r == "imagenet-c" else r)
    with st.spinner("Writing the report…"):
        report = rob.report(path, stamp, eid, reference)
        html, tables = rob.report_files(path, stamp, eid, reference)
except ResultsError as exc:
    st.error(str(exc))
    st.stop()

left, right = st.columns(2)
left.download_button("Download the HTML report (opens offline)", html, file_name=f"avlab_report_{eid}.html",
                     mime="text/html", key="report_html", type="primary", width="stretch")
right.download_button("Download the tables (CSV, zip)", tables, file_name=f"avlab_tables_{eid}.zip",
                      mime="application/zip", key="report_csv", width="stretch")
st.caption(f"The same report from the command line: `python -m core.report {eid} --reference {reference} --out report.html --csv tables/`")

st.subheader("Findings")
st.markdown("\n".join(f"- {sentence}" for sentence in report.findings))
for i, (title, figure) in enumerate(report.figures):
    st.subheader(title)
    st.plotly_chart(figure, key=f"report_figure_{i}", config={"displaylogo": False})
board = report.tables["leaderboard"]
if not board.empty:
    st.subheader("Leaderboard (fused head)")
    readable.leaderboard(board, key="report_leaderboard")
if not board.empty:
    best = board.iloc[0]["checkpoint"]
    st.subheader(f"What each corruption costs ({best})")
    st.caption("The best model's fused head, the most damaging corruption first; every model's costs are in the "
               "tables download (costs.csv).")
    readable.readable_table(reports.view(reports.readable.costs_by_corruption(report.tables["costs"], best),
                                         reports.readable.BY_CORRUPTION), key="report_costs")
if not report.tables["classes"].empty:
    st.subheader("Classes under corruption (fused head, best model)")
    readable.readable_table(reports.view(report.tables["classes"], reports.readable.CLASSES), key="report_classes")
