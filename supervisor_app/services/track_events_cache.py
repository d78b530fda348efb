"""Tracks' editing events (:class:`~supervisor_app.edit.planner.TrackEvents`) kept between rankings in one
process, so that the app's second ranking of a picture (the final one after the provisional, or any
re-ranking with other filters, k or sync points) does not read and parse every track's analyses again
(about half of a warm ranking: 0.5 s for 1,000 tracks).

An entry is used only while its track's row (path, content hash, duration, title, artist) and the stamps
of its stored analyses (analyser, version, time computed) are unchanged, so a track analysed again, or
edited, is read afresh. Each caller gets its own copy (no decoded envelope shared between rankings)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Callable

MAX_ENTRIES = 20_000  # about 5.5 KB each (measured on the pool tracks): at most ~110 MB kept; a larger catalog
# is read as before (a ranking reads its tracks in order, so a least-recently-used cache smaller than it never hits)

_lock = threading.Lock()
_cache: "OrderedDict[tuple, tuple]" = OrderedDict()


def _copy(result: tuple) -> tuple:
    ev, why = result
    return (replace(ev, _envelope=None) if ev is not None else None), why


def track_events(catalog, track, segmentation: str, stamps: dict, compute: Callable[[], tuple]) -> tuple:
    """``compute()``'s ``(TrackEvents | None, reason | None)`` for ``track``, from the cache when still valid.
    ``stamps``: :meth:`Catalog.analysis_stamps` of ``catalog`` (read once per ranking)."""
    key = (str(catalog.path), int(track.id), str(segmentation))
    stamp = (track.path, track.content_hash, track.duration_s, track.title, track.artist,
             stamps.get(int(track.id), ()))
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            _cache.move_to_end(key)
            return _copy(hit[1])
    result = compute()
    with _lock:
        _cache[key] = (stamp, _copy(result))
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return result


def clear() -> None:
    with _lock:
        _cache.clear()
