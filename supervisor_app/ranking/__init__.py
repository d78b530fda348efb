"""Ranking of catalog tracks against a video query: packed segment bank, thesis distances, prefilter.

- :mod:`.bank`: :class:`SegmentBank`, the catalog's segment embeddings packed for speed.
- :mod:`.distances`: the seven Seg-VM-Net distances (score: higher is better), batched
  :func:`catalog_scores`, single-pair :func:`align` with paths, evaluation perturbations.
- :mod:`.prefilter`: centroid :class:`Prefilter` (exact scan or FAISS IVF) and :func:`two_stage`.
"""
from supervisor_app.ranking.bank import SegmentBank, l2_normalize_rows
from supervisor_app.ranking.distances import (
    DISTANCES,
    NW_INDEL,
    SCENARIOS,
    SW_INDEL,
    Alignment,
    align,
    apply_scenario,
    catalog_scores,
    crop_query,
    distance_name,
    pair_score,
    similarity_matrix,
    stretch_target,
)
from supervisor_app.ranking.prefilter import Prefilter, PrefilterResult, Ranked, StageInfo, two_stage

__all__ = [
    "SegmentBank", "l2_normalize_rows", "DISTANCES", "NW_INDEL", "SW_INDEL", "SCENARIOS", "Alignment",
    "align", "apply_scenario", "catalog_scores", "crop_query", "distance_name", "pair_score",
    "similarity_matrix", "stretch_target", "Prefilter", "PrefilterResult", "Ranked", "StageInfo",
    "two_stage",
]
