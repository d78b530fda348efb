"""Planning (driver): what is left to compute for each track of a catalog, from bulk queries."""
from __future__ import annotations

from typing import Sequence

from supervisor_app.indexing.job import TrackPlan
from supervisor_app.indexing.keys import (
    AUTOTAGS,
    SEGMENT_ALGORITHMS,
    YAMNET_FRAMES,
    YAMNET_MEAN,
    bar_splices_key,
    beats_key,
    segment_versions,
    segmeans_key,
    yamnet_version,
)
from supervisor_app.indexing.reads import get_segments


def plan_catalog(catalog, tracks, algorithms: Sequence[str] = SEGMENT_ALGORITHMS, frames: bool = True,
                 retry_failed: bool = False) -> list[tuple[object, TrackPlan]]:
    """(track, plan) for every 'ok' track of ``tracks`` with something left to compute (bulk queries).

    A stored failure counts as done (a file that defeats an analyzer is not re-analysed on every run)
    unless ``retry_failed``."""
    if retry_failed:
        _retry_failed(catalog, algorithms)
    bname, bv = beats_key()
    yv = yamnet_version()
    ok = {t.id for t in tracks if t.status == "ok"}
    no_beats = set(catalog.analyses_missing(bname, bv)) & ok
    seg_missing, seg_failed_or_missing = {}, {}
    for a in algorithms:
        name, vs = segment_versions(a)
        seg_missing[a] = set.intersection(*(set(catalog.analyses_missing(name, v)) for v in vs)) & ok
        seg_failed_or_missing[a] = set.intersection(
            *(set(catalog.analyses_missing(name, v, retry_errors=True)) for v in vs)) & ok
    no_bar_splices = set(catalog.embeddings_missing(*bar_splices_key())) & ok
    no_tags = set(catalog.analyses_missing(AUTOTAGS, yv)) & ok
    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION

    no_descriptors = set(catalog.analyses_missing(DESCRIPTORS, DESCRIPTORS_VERSION)) & ok
    tags_ok = ok - set(catalog.analyses_missing(AUTOTAGS, yv, retry_errors=True))
    tags_failed = ok - tags_ok - no_tags  # a stored YAMNet failure is not retried
    no_yamnet = no_tags | (set(catalog.embeddings_missing(YAMNET_MEAN, yv)) & tags_ok)
    if frames:
        no_yamnet |= set(catalog.embeddings_missing(YAMNET_FRAMES, yv)) & tags_ok
    no_segmeans = {}
    if not frames:
        for a in algorithms:
            _, vs = segment_versions(a)
            missing = set.intersection(*(set(catalog.embeddings_missing(*segmeans_key(a, v))) for v in vs))
            # a stored failed segmentation has no means to compute; a missing one is computed first
            no_segmeans[a] = (missing & ok) - (seg_failed_or_missing[a] - seg_missing[a]) - tags_failed
    out = []
    for t in tracks:
        if t.id not in ok:
            continue
        plan = TrackPlan(beats=t.id in no_beats, frames=frames, descriptors=t.id in no_descriptors,
                         bar_splices=t.id in no_bar_splices, duration_s=t.duration_s)
        plan.segments = tuple(a for a in algorithms if t.id in seg_missing[a])
        plan.yamnet = t.id in no_yamnet
        plan.segmeans = tuple(a for a in algorithms if t.id in no_segmeans.get(a, ()))
        if (plan.segments or plan.bar_splices) and not plan.beats:
            rec = catalog.get_analysis(t.id, bname, bv)
            plan.stored_beats_s = rec.result["beats_s"] if rec is not None and rec.result else None
            plan.stored_downbeats_s = rec.result.get("downbeats_s") if rec is not None and rec.result else None
            if plan.bar_splices and rec is None:
                plan.bar_splices = False  # no beats stored yet (they failed to be computed): nothing to cut on
        for a in plan.segmeans:
            if a not in plan.segments:
                rec = get_segments(catalog, t.id, a)
                if rec is not None and rec.result:
                    plan.stored_bounds[a] = (rec.version, rec.result["boundaries_s"])
        if not plan.empty():
            out.append((t, plan))
    return out


def _retry_failed(catalog, algorithms: Sequence[str]) -> int:
    """Forget the stored failures of the current analyzer versions, so the plan computes them again."""
    bname, bv = beats_key()
    keys = [(bname, bv), (AUTOTAGS, yamnet_version())]
    for a in algorithms:
        name, vs = segment_versions(a)
        keys += [(name, v) for v in vs]
    return catalog.delete_failed_analyses(keys)
