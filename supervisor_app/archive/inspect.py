"""Inspect and export the archive: per-project summaries (durations, pairs, distinct tracks,
thumbnails) and a dataset folder (a manifest of pairs; media copied and music stems rendered only
when asked)."""
from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from supervisor_app.infra import errors, fileio
from supervisor_app.archive import store


@dataclass
class PairInfo:
    id: int
    origin: str
    decision: str | None
    label: str
    start_s: float
    duration_s: float
    music_path: str
    music_hash: str
    music_found: bool
    music_pieces: list[dict]
    picture_paths: list[str]
    picture_found: bool
    picture_pieces: list[dict]
    track_id: int | None


@dataclass
class ProjectSummary:
    """What ``archive list`` / ``archive show`` print (``id`` None: the approved/rejected mockups)."""

    id: int | None
    name: str
    path: str
    format: str
    imported_at: float
    n_pairs: int
    n_distinct_tracks: int
    pairs_duration_s: float
    timeline_duration_s: float | None
    n_media_missing: int
    report: dict = field(default_factory=dict)
    pairs: list[PairInfo] = field(default_factory=list)
    thumbnails: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _pair_info(cat, p: store.ArchivePair, media: dict) -> PairInfo:
    m = media[p.music_media_id]
    pics = [media[i] for i in p.picture_media_ids()]
    return PairInfo(p.id, p.origin, p.decision, p.label, p.start_s, p.duration_s, m.path, m.content_hash,
                    Path(m.path).is_file(), [x.to_dict() for x in p.music],
                    [x.path for x in pics], all(Path(x.path).is_file() for x in pics),
                    [{**x.to_dict(), "media": media[int(x.media)].path} for x in p.picture], p.track_id)


def summaries(cat, with_pairs: bool = False) -> list[ProjectSummary]:
    """One summary per project, then one for the mockups (when there are any)."""
    media = {m.id: m for m in store.all_media(cat)}
    out = []
    groups = [(pr, store.pairs(cat, project_id=pr.id)) for pr in store.projects(cat)]
    mock = store.pairs(cat, origin="mockup")
    for pr, ps in groups + ([(None, mock)] if mock else []):
        infos = [_pair_info(cat, p, media) for p in ps]
        used = {p.music_media_id for p in ps} | {i for p in ps for i in p.picture_media_ids()}
        s = ProjectSummary(
            pr.id if pr else None, pr.name if pr else "(mockups: approved and rejected)", pr.path if pr else "",
            pr.format if pr else "mockup", pr.imported_at if pr else min((p.created_at for p in ps), default=0.0),
            len(ps), len({p.music_media_id for p in ps}), float(sum(p.duration_s for p in ps)),
            pr.duration_s if pr else None, sum(1 for i in used if not Path(media[i].path).is_file()),
            pr.report if pr else {"approved": sum(p.decision == "approved" for p in ps),
                                  "rejected": sum(p.decision == "rejected" for p in ps)},
            infos if with_pairs else [])
        out.append(s)
    return out


def project_summary(cat, project_id: int | None) -> ProjectSummary:
    """One project's summary with its pairs (``project_id`` None: the mockups)."""
    for s in summaries(cat, with_pairs=True):
        if s.id == project_id:
            return s
    raise errors.UsageError(f"The archive has no project with id {project_id} (see 'archive list').")


def pair_thumbnail(cat, pair: store.ArchivePair, out_path: str | Path, size=(320, 180)) -> Path | None:
    """A JPEG/PNG still of the picture at the middle of the pair (None if its picture file is missing)."""
    from supervisor_app.media import thumbnail

    mid = pair.start_s + pair.duration_s / 2
    piece = next((p for p in pair.picture if p.record_start_s <= mid < p.record_end_s), pair.picture[0])
    m = store.get_media(cat, int(piece.media))
    if m is None or not Path(m.path).is_file():
        return None
    t = min(max(piece.source_time(min(max(mid, piece.record_start_s), piece.record_end_s)), 0.0),
            max(0.0, (m.duration_s or 1e9) - 0.1))
    img = thumbnail(m.path, t, size)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    out_path = Path(out_path)
    fileio.atomic_write_bytes(out_path, buf.getvalue())
    return out_path


def write_thumbnails(cat, project_id: int | None, out_dir: str | Path) -> list[str]:
    """One still per pair of a project into ``out_dir`` (``pair-ID.png``); returns the files written."""
    ps = store.pairs(cat, project_id=project_id) if project_id is not None else store.pairs(cat, origin="mockup")
    out = []
    for p in ps:
        f = pair_thumbnail(cat, p, Path(out_dir) / f"pair-{p.id}.png")
        if f is not None:
            out.append(str(f))
    return out


# --------------------------------------------------------------------------- export
EXPORT_MANIFEST = "pairs.json"
EXPORT_CSV = "pairs.csv"


def export_dataset(cat, out_dir: str | Path, copy_media: bool = False, stems: bool = False,
                   include_rejected: bool = True) -> Path:
    """Write the archive as a dataset folder: ``pairs.json`` (every pair, its media hashes and paths,
    its music and picture pieces, its project as ``group`` so users split by commercial) and
    ``pairs.csv``. ``copy_media`` copies the media into ``media/`` (named by hash; the manifest then
    points there); ``stems`` renders each pair's music as ``stems/pair-ID.wav`` (the music exactly as
    it plays under the picture). Nothing else is copied."""
    from supervisor_app.archive.features import render_music_stem
    from supervisor_app.archive.split import commercial_groups

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise errors.UsageError(f"The folder {str(out)!r} is not empty: choose a new folder for the export.")
    all_pairs = [p for p in store.pairs(cat) if include_rejected or p.decision != "rejected"]
    if not all_pairs:
        raise errors.UsageError("The archive has no pairs to export: import projects first ('archive import').")
    media = {m.id: m for m in store.all_media(cat)}
    groups = commercial_groups(all_pairs, media)
    out.mkdir(parents=True, exist_ok=True)
    copied: dict[int, str] = {}

    def media_path(mid: int) -> str:
        m = media[mid]
        if not copy_media:
            return m.path
        if mid not in copied:
            if not Path(m.path).is_file():
                raise errors.FileMissingError(m.path)
            dest = out / "media" / f"{m.content_hash[:16]}{Path(m.path).suffix.lower()}"
            dest.parent.mkdir(exist_ok=True)
            with fileio.atomic_output(dest, "The exported media file") as tmp:
                shutil.copyfile(m.path, tmp)
            copied[mid] = str(dest.relative_to(out))
        return copied[mid]

    rows = []
    for p in all_pairs:
        m = media[p.music_media_id]
        rec = {"id": p.id, "group": groups[p.id], "project_id": p.project_id, "origin": p.origin,
               "decision": p.decision, "label": p.label, "start_s": p.start_s, "duration_s": p.duration_s,
               "music": {"path": media_path(m.id), "sha256": m.content_hash,
                         "pieces": [x.to_dict() for x in p.music]},
               "picture": [{**x.to_dict(), "media": media_path(int(x.media)),
                            "sha256": media[int(x.media)].content_hash} for x in p.picture],
               "track_id": p.track_id}
        for x in rec["music"]["pieces"]:
            x.pop("media", None)
        if stems:
            if not Path(m.path).is_file():
                raise errors.FileMissingError(m.path)
            f = out / "stems" / f"pair-{p.id}.wav"
            render_music_stem(m.path, p.music, p.start_s, p.duration_s, f)
            rec["music"]["stem"] = str(f.relative_to(out))
        rows.append(rec)
    doc = {"format": "supervisor-app archive export 1", "n_pairs": len(rows),
           "note": "Split by 'group' (one commercial: projects sharing a picture file) so that no commercial is on "
                   "both sides. Times in seconds on each project's timeline; a piece plays its media from "
                   "source_in_s at 'speed' media seconds per timeline second.",
           "pairs": rows}
    fileio.atomic_write_text(out / EXPORT_MANIFEST, json.dumps(doc, indent=2) + "\n")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "group", "origin", "decision", "label", "start_s", "duration_s", "music_path", "music_sha256",
                "picture_paths"])
    for r in rows:
        w.writerow([r["id"], r["group"], r["origin"], r["decision"] or "", r["label"], f"{r['start_s']:.3f}",
                    f"{r['duration_s']:.3f}", r["music"]["path"], r["music"]["sha256"],
                    ";".join(dict.fromkeys(x["media"] for x in r["picture"]))])
    fileio.atomic_write_text(out / EXPORT_CSV, buf.getvalue())
    return out
