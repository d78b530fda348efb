"""What the CLI and exports show about a catalog track: tempo and key (stored analyses), all fields.

The tempo is the file's BPM tag (or the user's) when there is one, else the tempo the beat tracker
measured at index time, else the descriptors' estimate. The key comes from the stored ``descriptors``
analysis: ``catalog index`` computes it for new tracks; :func:`ensure_descriptors` fills it in for
catalogs indexed before it existed (``catalog describe``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from supervisor_app.infra.jobs import ProgressFn, count_progress


def analysed_tempo(catalog, track) -> Optional[float]:
    from supervisor_app.indexing.keys import beats_key

    rec = catalog.get_analysis(track.id, *beats_key())
    if rec is None or not rec.result or not rec.result.get("tempo_bpm"):
        return None
    return float(rec.result["tempo_bpm"])


def descriptors(catalog, track) -> Optional[dict]:
    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION

    rec = catalog.get_analysis(track.id, DESCRIPTORS, DESCRIPTORS_VERSION)
    return rec.result if rec is not None and rec.result else None


def tempo_and_key(catalog, track) -> tuple[Optional[float], Optional[str]]:
    """(BPM, key such as 'A minor'; '?' appended when uncertain) of a track; None when unknown."""
    bpm = track.bpm_tag if track.bpm_tag else analysed_tempo(catalog, track)
    d = descriptors(catalog, track)
    if bpm is None and d and d.get("tempo_bpm"):
        bpm = d["tempo_bpm"]
    key = None if not d or not d.get("key") else d["key"] + ("?" if d.get("key_uncertain") else "")
    return (None if bpm is None else round(float(bpm), 1)), key


def ensure_descriptors(catalog, track_ids=None, progress: Optional[ProgressFn] = None,
                       should_cancel=None) -> int:
    """Compute and store the descriptors (key, loudness, ...) of 'ok' tracks that have none; returns how many."""
    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION, describe_file
    from supervisor_app.infra.errors import SupervisorError

    todo = catalog.analyses_missing(DESCRIPTORS, DESCRIPTORS_VERSION)
    if track_ids is not None:
        wanted = {int(i) for i in track_ids}
        todo = [i for i in todo if i in wanted]
    for n, tid in enumerate(todo, 1):
        if should_cancel is not None and should_cancel():
            break
        t = catalog.get_track(tid)
        try:
            catalog.put_analysis(tid, DESCRIPTORS, DESCRIPTORS_VERSION, describe_file(t.path))
        except SupervisorError as e:
            catalog.put_analysis(tid, DESCRIPTORS, DESCRIPTORS_VERSION, None, str(e))
        count_progress(progress, n, len(todo), f"describing {Path(t.path).name}")
    return len(todo)


def track_facts(catalog, track) -> dict:
    """Every field of a track for people (``catalog show``), with tempo and key."""
    bpm, key = tempo_and_key(catalog, track)
    d = track.to_dict()
    d.pop("locked", None)
    try:
        from supervisor_app.briefs.track_profile import auto_tags

        heard = [w for w, _ in auto_tags(catalog, track)[:8]]
    except Exception:  # noqa: BLE001  (auto-tags need the YAMNet extra; the facts do not)
        heard = []
    return {"id": d.pop("id"), "title": d.pop("title") or Path(track.path).stem, "artist": d.pop("artist"),
            "bpm": bpm, "key": key, **d, "auto_tags": heard, "locked_by_user": list(track.locked)}


def track_keys(catalog, track_ids) -> dict:
    """{track id: key such as 'A minor'} of the listed tracks (those with a stored estimate)."""
    out = {}
    for tid in track_ids:
        t = catalog.get_track(int(tid))
        if t is not None:
            out[int(tid)] = tempo_and_key(catalog, t)[1]
    return out
