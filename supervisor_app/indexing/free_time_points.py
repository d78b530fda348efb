"""The onsets free-time tracks are fitted on, stored in the catalog at index time.

``recommend`` scores every candidate of a large catalog with a quick fit before it plans the best
(:mod:`supervisor_app.ranking.search`). A track without a trustworthy bar grid is fitted on its strong
onsets, which come from its envelope (:mod:`supervisor_app.analysis.envelope`): decoding each such track
at the first recommendation of a freshly indexed catalog cost about half a second per track (a minute
for a thousand-track catalog's ~130 free-time tracks). ``catalog index`` now computes the envelope of
every track whose stored beats give no trustworthy grid (:func:`~supervisor_app.analysis.beat_confidence.
beat_confidence`), keeps it in the app's analysis cache (the planner cuts on it) and stores its strong
onsets and quiet moments in the catalog (a few dozen numbers; the catalog travels, the cache may not):

    analyses["free-time-points", "<envelope version>|<beats version>"] =
        {"strong_onsets_s": [...], "low_energy_s": [...]}     (a track cut in free time)
        {"bar_grid": true}                                   (a track cut on bar lines: nothing to store)

so every track is looked at once (the marker keeps a 100k-track catalog's next index run from judging
its grids again), and again when its beats are re-analysed (the beats version is in the key).
Resumable and cancellable like the descriptors pass; a file that cannot be decoded stores its
one-sentence error.
"""
from __future__ import annotations

from pathlib import Path

from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, count_progress

FREE_TIME_POINTS = "free-time-points"


def free_time_points_key() -> tuple[str, str]:
    from supervisor_app.analysis.envelope import ENVELOPE_VERSION
    from supervisor_app.indexing.keys import beats_key

    return FREE_TIME_POINTS, f"{ENVELOPE_VERSION}|{beats_key()[1]}"


def needs_points(catalog, track) -> bool:
    """True when ``track``'s stored beats give no trustworthy bar grid (it is cut in free time)."""
    from supervisor_app.analysis.beat_confidence import beat_confidence
    from supervisor_app.indexing.keys import beats_key

    rec = catalog.get_analysis(track.id, *beats_key())
    if rec is None or not track.duration_s:
        return False  # not analysed yet: the next index run decides
    return not beat_confidence(rec.result, float(track.duration_s), rec.error).metric


def ensure_free_time_points(catalog, progress: ProgressFn | None = None,
                            should_cancel: ShouldCancel | None = None) -> int:
    """Store the free-time points of every 'ok' free-time track that has none; returns how many were computed."""
    from supervisor_app.analysis.envelope import cached_envelope
    from supervisor_app.indexing.keys import beats_key
    from supervisor_app.infra.errors import SupervisorError

    name, version = free_time_points_key()
    missing = set(catalog.analyses_missing(name, version))
    todo = []
    for t in catalog.tracks():
        if t.id not in missing or t.status != "ok":
            continue
        if needs_points(catalog, t):
            todo.append(t)
        elif catalog.get_analysis(t.id, *beats_key()) is not None:  # judged: a bar grid, nothing to store
            catalog.put_analysis(t.id, name, version, {"bar_grid": True})
    for n, t in enumerate(todo, 1):
        if should_cancel is not None and should_cancel():
            break
        try:
            env = cached_envelope(t.path, t.content_hash or None)
            catalog.put_analysis(t.id, name, version, env.points())
        except SupervisorError as e:
            catalog.put_analysis(t.id, name, version, None, str(e))
        count_progress(progress, n, len(todo), f"onsets of {t.title or Path(t.path).name}")
    return len(todo)


def stored_points(catalog, track) -> dict | None:
    """The stored free-time points of ``track`` (``strong_onsets_s``, ``low_energy_s``), or None."""
    rec = catalog.get_analysis(track.id, *free_time_points_key())
    return rec.result if rec is not None and rec.result and "strong_onsets_s" in rec.result else None
