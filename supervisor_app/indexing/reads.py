"""Reading what indexing stored for a track: its segmentations, boundaries and YAMNet segment means."""
from __future__ import annotations

import numpy as np

from supervisor_app.features.segments import segment_means_of
from supervisor_app.indexing.keys import DEFAULT_SEGMENTATION, YAMNET_FRAMES, segment_versions, segmeans_key, yamnet_version


def get_segments(catalog, track_id: int, algorithm: str):
    """The stored AnalysisRecord of one segmentation of a track (whichever beats fed it), or None."""
    name, vs = segment_versions(algorithm)
    for v in vs:
        rec = catalog.get_analysis(track_id, name, v)
        if rec is not None:
            return rec
    return None


def track_boundaries_s(catalog, track, segmentation: str = DEFAULT_SEGMENTATION) -> np.ndarray | None:
    """The stored music segment boundaries [0, …, duration] of a track, or None."""
    rec = get_segments(catalog, track.id, segmentation)
    if rec is None or rec.result is None:
        return None
    return np.asarray(rec.result["boundaries_s"], dtype=np.float64)


def track_segment_means(catalog, track, segmentation: str = DEFAULT_SEGMENTATION) -> np.ndarray | None:
    """(K, 1024) float32 YAMNet means over a track's stored segments: from its frames when kept, else
    the stored segment means (identical numbers); None when neither is there."""
    rec = get_segments(catalog, track.id, segmentation)
    if rec is None or rec.result is None or len(rec.result["boundaries_s"]) < 2:
        return None
    yv = yamnet_version()
    frames = catalog.get_embedding(track.id, YAMNET_FRAMES, yv)
    if frames is not None:
        return segment_means_of(frames, rec.result["boundaries_s"])
    return catalog.get_embedding(track.id, *segmeans_key(segmentation, rec.version))


def stored_bar_splices(catalog, track_id: int):
    """The :class:`~supervisor_app.edit.bar_splices.BarSplices` ``catalog index`` stored for a track, or None
    (not computed yet, no bar grid, or unreadable: the caller decodes the track instead)."""
    from supervisor_app.edit.bar_splices import BarSplices
    from supervisor_app.indexing.keys import bar_splices_key

    arr = catalog.get_embedding(int(track_id), *bar_splices_key())
    if arr is None or arr.size == 0:
        return None
    try:
        return BarSplices.from_array(arr)
    except ValueError:
        return None
