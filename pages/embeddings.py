"""Embeddings: UMAP / t-SNE / PCA maps of the audio, video and fused embeddings of a data set,
clean and under a corruption, with a class-separation score per panel."""
from __future__ import annotations

import math

import streamlit as st

from core import corruptions
from core.embeddings import CLEAN, METHOD_LABELS, METHODS
from core.figures import COLOUR_BY, HEAD_TITLES, HEADS, condition_title, embedding_panels
from ui import embeddings, session
from ui.data import current_dataset
from ui.models import current_model, load_predictor
from ui.widgets import change_delta

embeddings.open_chosen()  # a point chosen on the last run opens its clip
st.title("Embeddings")
st.caption("Where each clip lands in the audio, video and fused embedding spaces, and whether the classes "
           "separate. Click a point to open its clip.")
data = current_dataset()
info = current_model()
if data is None or info is None or (loaded := load_predictor(info)) is None:
    st.stop()

splits = sorted({s.split for s in data.samples if s.split and not s.is_long})
top = st.columns([1, 1, 1, 1])
method = top[0].radio("Projection", METHODS, index=METHODS.index("pca"), format_func=METHOD_LABELS.get,
                      key="emb_method", horizontal=True,
                      help="PCA is linear and instant; t-SNE and UMAP keep neighbourhoods (UMAP compiles once).")
colour_by = top[1].selectbox("Colour by", list(COLOUR_BY), format_func=COLOUR_BY.get, key="emb_colour")
split = top[2].selectbox("Clips", ["all", *splits], key="emb_split",
                         format_func=lambda s: "every single-label clip" if s == "all" else f"the {s} split")
limit = int(top[3].number_input("At most this many clips", min_value=10, max_value=5000, value=300, step=50,
                                key="emb_limit", help="Taken evenly across classes."))
left, right = st.columns([2, 1])
name = left.selectbox("Compare with a corruption (the same clips, moved)", [None, *corruptions.names()],
                      key="emb_corruption", format_func=lambda n: "none: clean clips only" if n is None
                      else f"{corruptions.label(n)} ({corruptions.get(n).modality})")
if name is not None and len(corruptions.levels(name)) == 1:  # on or off (mute, video_off): nothing to choose
    severity = corruptions.levels(name)[0]
    right.caption(f"{corruptions.label(name)} has one level.")
else:
    severity = right.slider("Severity", 1, 5, 3, key="emb_severity", disabled=name is None)
corruption = None if name is None else (name, int(severity))
seed = session.seed()

# UMAP still compiling in the background (once per server): PCA stands in until it is ready, then a poll reruns
waiting = method == "umap" and embeddings.umap_compiling()
table, points, scores = embeddings.maps(info, None if split == "all" else split, limit, corruption, seed,
                                        "pca" if waiting else method)
if table.empty:
    st.info("The data set has no single-label clips to embed.")
    st.stop()
if waiting:
    st.info("UMAP is compiling its code (once per server process, about 20 s on a quiet machine): the PCA map is "
            "shown meanwhile, and the UMAP map replaces it by itself when it is ready.")
    embeddings.rerun_when_umap_is_ready()

broken = condition_title(f"{name}:{severity}") if corruption else None
if not loaded.model.has_embeddings:
    st.info(f"{info.name} exposes no embeddings: each head's log class probabilities stand in for them"
            + (f" ({' and '.join(info.ablated)} by ablation)." if info.ablated else "."))
measured = scores[(HEADS[0], CLEAN)]  # the same clips and labels in every panel: one k, one warning
k = measured["k"]
st.caption(f"{(table['condition'] == CLEAN).sum()} clips · model {info.name} · "
           f"separation in the embedding space itself: {measured['measure']} (k below the smallest class, "
           f"{measured['smallest_class']} clips) and silhouette" + (f" · clean → {broken}" if broken else ""))
if measured["warning"]:
    st.warning(measured["warning"])
for note in embeddings.notes(info, None if split == "all" else split, limit, corruption, seed):
    st.caption(note)


def score_text(head: str, condition: str) -> tuple[str, str]:
    s = scores[(head, condition)]
    knn = "n/a" if math.isnan(s["knn_accuracy"]) else f"{s['knn_accuracy']:.0%}"
    sil = "n/a" if math.isnan(s["silhouette"]) else f"{s['silhouette']:.2f}"
    return knn, sil


titles = {}
for column, head in zip(st.columns(3), HEADS):
    knn, sil = score_text(head, CLEAN)
    delta = {}
    if corruption is not None:
        knn_b, sil_b = score_text(head, f"{name}:{severity}")
        clean_v, broken_v = (scores[(head, c)]["knn_accuracy"] for c in (CLEAN, f"{name}:{severity}"))
        delta = {} if math.isnan(clean_v) or math.isnan(broken_v) else \
            change_delta(f"{100 * (broken_v - clean_v):+.0f} points", f"under {broken}")
        titles[head] = f"{HEAD_TITLES[head]} · {k}-NN {knn} → {knn_b} · silhouette {sil} → {sil_b}"
    else:
        titles[head] = f"{HEAD_TITLES[head]} · {k}-NN {knn} · silhouette {sil}"
    column.metric(f"{HEAD_TITLES[head]}: classes separate ({k}-NN accuracy)", knn, **delta,
                  help=f"{measured['measure'][0].upper() + measured['measure'][1:]}: each clip's class by a vote of "
                       f"its {k} nearest other clips in the {HEAD_TITLES[head].lower()} embedding space. Silhouette "
                       f"{sil} (-1 to 1, higher is better separated).")

n = int((table["condition"] == CLEAN).sum())
links = [(i, n + i) for i in range(n)] if corruption is not None else []
figure = embedding_panels(points, table, colour_by=colour_by, titles=titles, classes=data.classes, links=links)
st.plotly_chart(figure, key="emb_map", on_select=lambda: embeddings.remember_choice("emb_map", table, seed),
                selection_mode="points", config={"displaylogo": False})
if corruption is not None:
    st.caption("Circles are the clean clips, crosses the same clips corrupted; grey lines join each pair. "
               "Clicking a corrupted point opens it in the Corruption Lab with that corruption applied.")
