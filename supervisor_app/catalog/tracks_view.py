"""What the CLI and exports show about a catalog track: tempo and key (stored analyses), all fields.

The tempo is the file's BPM tag (or the user's) when there is one, else the tempo the beat tracker
measured at index time. The key comes from the stored ``key`` analysis: ``catalog index`` computes it
for every track; :func:`ensure_keys` fills it in for catalogs indexed before it existed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional


def analysed_tempo(catalog, track) -> Optional[float]:
    from ..indexing import beats_key

    rec = catalog.get_analysis(track.id, *beats_key())
    if rec is None or not rec.result or not rec.result.get("tempo_bpm"):
        return None
    return float(rec.result["tempo_bpm"])


def stored_key(catalog, track) -> Optional[str]:
    from ..analysis.key import KEY_ANALYZER, KEY_VERSION

    rec = catalog.get_analysis(track.id, KEY_ANALYZER, KEY_VERSION)
    if rec is None or not rec.result or not rec.result.get("key"):
        return None
    return rec.result["key"] + ("?" if rec.result.get("uncertain") else "")


def tempo_and_key(catalog, track) -> tuple[Optional[float], Optional[str]]:
    """(BPM, key such as 'A minor'; '?' appended when uncertain) of a track; None when unknown."""
    bpm = track.bpm_tag if track.bpm_tag else analysed_tempo(catalog, track)
    return (None if bpm is None else round(float(bpm), 1)), stored_key(catalog, track)


def ensure_keys(catalog, track_ids=None, progress: Optional[Callable[[int, int, str], None]] = None,
                should_cancel=None) -> int:
    """Estimate and store the key of 'ok' tracks that have none (all, or ``track_ids``); returns how many."""
    from ..analysis.key import KEY_ANALYZER, KEY_VERSION, estimate_key
    from ..errors import SupervisorError

    todo = catalog.analyses_missing(KEY_ANALYZER, KEY_VERSION)
    if track_ids is not None:
        wanted = {int(i) for i in track_ids}
        todo = [i for i in todo if i in wanted]
    for n, tid in enumerate(todo, 1):
        if should_cancel is not None and should_cancel():
            break
        t = catalog.get_track(tid)
        try:
            catalog.put_analysis(tid, KEY_ANALYZER, KEY_VERSION, estimate_key(t.path))
        except SupervisorError as e:
            catalog.put_analysis(tid, KEY_ANALYZER, KEY_VERSION, None, str(e))
        if progress is not None:
            progress(n, len(todo), Path(t.path).name)
    return len(todo)


def track_facts(catalog, track) -> dict:
    """Every field of a track for people (``catalog show``), with tempo and key."""
    bpm, key = tempo_and_key(catalog, track)
    d = track.to_dict()
    d.pop("locked", None)
    return {"id": d.pop("id"), "title": d.pop("title") or Path(track.path).stem, "artist": d.pop("artist"),
            "bpm": bpm, "key": key, **d, "locked_by_user": list(track.locked)}
