"""Approved and rejected mockups as archive pairs (the app's "approve"/"reject" and ``mockup --approve``).

An approved mockup is a training pair like a past project's cue: the whole picture of the video and
the music as the edit cut it (each excerpt a music piece at speed 1). A rejected one is kept as a
negative for evaluation only (never trained on). Deciding again on the same edit changes the decision.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from supervisor_app.infra import errors
from supervisor_app.archive import store
from supervisor_app.archive.timeline import Piece


@dataclass
class MockupDecision:
    """What :func:`record_mockup_decision` stored."""

    pair_id: int
    decision: str  # "approved" | "rejected"
    video_hash: str
    track_id: int
    created: bool  # False when an earlier decision on the same edit was changed


def _edit_dict(edit) -> dict:
    if hasattr(edit, "to_dict"):
        return edit.to_dict()
    if isinstance(edit, dict) and "excerpts" in edit:
        return edit
    raise errors.UsageError("The mockup's edit must be an Edit (or its to_dict()) with excerpts.")


def record_mockup_decision(catalog, video_path: str | Path, track_id: int, edit, approved: bool) -> MockupDecision:
    """Store the user's decision on a mockup as an archive pair.

    ``catalog``: an open :class:`~supervisor_app.catalog.Catalog` or the path of one; ``video_path``:
    the picture (hashed: the pair survives renames); ``track_id``: the catalog track the edit cuts;
    ``edit``: the :class:`~supervisor_app.edit.edl.Edit` (or its ``to_dict()``); ``approved``: the choice
    (False = rejected: a negative, kept for evaluation). Typed errors for a missing video or track.
    """
    from supervisor_app.catalog import Catalog

    if isinstance(catalog, (str, Path)):
        with Catalog.open(catalog) as cat:
            return record_mockup_decision(cat, video_path, track_id, edit, approved)
    from supervisor_app.infra.hashing import content_hash
    from supervisor_app.media import probe

    cat = catalog
    video_path = Path(video_path)
    info = probe(video_path)
    if not info.has_video:
        raise errors.NoVideoStreamError(video_path)
    t = cat.get_track(int(track_id))
    if t is None:
        raise errors.UsageError(f"The catalog has no track with id {track_id}.")
    if not Path(t.path).is_file():
        raise errors.FileMissingError(t.path)
    ed = _edit_dict(edit)
    excerpts = ed["excerpts"]
    if not excerpts:
        raise errors.UsageError("The mockup's edit has no music excerpt.")
    music = [Piece(float(e["video_start_s"]), float(e["video_end_s"]), float(e["music_in_s"]), 1.0, "")
             for e in excerpts if float(e["video_end_s"]) > float(e["video_start_s"])]
    dur = float(ed.get("video_duration_s") or music[-1].record_end_s)
    vhash = content_hash(video_path)
    decision = "approved" if approved else "rejected"
    with cat.transaction():
        vid = store.upsert_media(cat, vhash, video_path.resolve(), "picture", float(info.duration_s))
        mid = store.upsert_media(cat, t.content_hash, t.path, "music", t.duration_s)
        picture = [Piece(0.0, dur, 0.0, 1.0, str(vid))]
        key = store.pair_key(t.content_hash, music, [(vhash, picture[0])])
        old = store.find_pair(cat, "mockup", key)
        if old is not None:
            store._db(cat).execute("UPDATE archive_pairs SET decision = ? WHERE id = ?", (decision, old.id))
            return MockupDecision(old.id, decision, vhash, int(track_id), False)
        label = f"mockup: {video_path.name} x {t.title or Path(t.path).name}"
        pid = store.add_pair(cat, project_id=None, origin="mockup", key=key, music_media_id=mid, music=music,
                             picture=picture, decision=decision, track_id=int(track_id), edit=ed, label=label)
    return MockupDecision(pid, decision, vhash, int(track_id), True)
