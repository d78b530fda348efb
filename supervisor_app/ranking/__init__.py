"""Ranking of catalog tracks against a video query: packed segment bank, thesis distances, prefilter.

- :mod:`.names`: the distance names (``DISTANCES``, aliases, indel costs), numba-free.
- :mod:`.bank`: :class:`SegmentBank`, the catalog's segment embeddings packed for speed.
- :mod:`.distances`: the seven Seg-VM-Net distances (score: higher is better), batched
  :func:`catalog_scores`, single-pair :func:`align` with paths, evaluation perturbations.
- :mod:`.metrics`: retrieval metrics (ranks, Recall@K, mean rank ± CI) with one correct item per query.
- :mod:`.prefilter`: centroid :class:`Prefilter` (exact scan or FAISS IVF) and :func:`two_stage`.

The names below load on first use (PEP 562): importing a light submodule such as :mod:`.names` does
not load numba.
"""
import importlib

_WHERE = {
    "SegmentBank": "bank", "l2_normalize_rows": "bank",
    "DISTANCES": "names", "NW_INDEL": "names", "SW_INDEL": "names", "distance_name": "names",
    "SCENARIOS": "distances", "Alignment": "distances", "align": "distances", "apply_scenario": "distances",
    "catalog_scores": "distances", "crop_query": "distances", "pair_score": "distances",
    "similarity_matrix": "distances", "stretch_target": "distances",
    "Prefilter": "prefilter", "PrefilterResult": "prefilter", "Ranked": "prefilter", "StageInfo": "prefilter",
    "two_stage": "prefilter",
}
__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
