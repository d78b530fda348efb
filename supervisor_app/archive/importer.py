"""``archive import``: past projects (NLE timelines) → pairs in the catalog's archive.

For every timeline: read it (:mod:`.timeline`), resolve each medium it names (:mod:`.relink`), hash it,
and store one pair per music cue whose music and picture were all found. Re-importing a project
(same file content) adds the pairs that could not be resolved before (e.g. after ``--search`` names
the folder the media moved to); a pair already in the archive (the same media and spans, e.g. the
same project saved under another name or exported to another format) is not added twice.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import ProgressFn, count_progress
from supervisor_app.archive import store
from supervisor_app.archive.relink import MediaResolver
from supervisor_app.archive.timeline import Piece, plan_timeline, read_timeline_file


@dataclass
class ImportReport:
    """What one ``import`` of one timeline did."""

    path: str
    project_id: int | None = None
    name: str = ""
    adapter: str = ""
    rate: float = 0.0
    status: str = "imported"  # imported | updated | unchanged | duplicate | failed
    n_cues: int = 0
    n_pairs_added: int = 0
    n_pairs_duplicate: int = 0
    not_found: list[str] = field(default_factory=list)  # media references no file was found for
    relinked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.status == "failed":
            return f"{Path(self.path).name}: not imported: {self.error}"
        head = {"imported": "imported", "updated": "updated", "unchanged": "already in the archive",
                "duplicate": "duplicate of pairs already in the archive"}[self.status]
        s = (f"{Path(self.path).name}: {head} ({self.adapter}, {self.n_cues} music cue(s), {self.n_pairs_added} "
             f"pair(s) added")
        if self.n_pairs_duplicate:
            s += f", {self.n_pairs_duplicate} already there"
        s += ")"
        return s


def _media_info(path: Path, kind: str, cache: dict) -> tuple[str, float | None]:
    """(content hash, duration_s) of a medium, checked to have the stream its role needs."""
    from supervisor_app.infra.hashing import content_hash
    from supervisor_app.media import probe

    key = (str(path), kind)
    if key not in cache:
        info = probe(path)
        if kind == "music" and not info.has_audio:
            raise errors.NoAudioStreamError(path)
        if kind == "picture" and not info.has_video:
            raise errors.NoVideoStreamError(path)
        cache[key] = (content_hash(path), float(info.duration_s))
    return cache[key]


def import_project(cat, timeline_path: str | Path, search_dirs: Iterable[str | Path] = (), rate: float | None = None,
                   music_tracks: Sequence[str] = (), name: str | None = None) -> ImportReport:
    """Import one timeline file into the archive of ``cat`` (see the module docstring)."""
    from supervisor_app.infra.hashing import content_hash

    t0 = time.perf_counter()
    path = Path(timeline_path)
    rep = ImportReport(str(path))
    tl, adapter, notes = read_timeline_file(path, rate)
    plan = plan_timeline(tl, adapter, tuple(music_tracks))
    rep.adapter, rep.rate, rep.name = adapter, plan.rate, name or tl.name or path.stem
    rep.n_cues = len(plan.cues)
    rep.skipped = list(plan.skipped)
    rep.warnings = notes + plan.warnings
    project_hash = content_hash(path)
    resolver = MediaResolver(path, search_dirs, [t.path for t in cat.tracks(include_missing=False)])
    info_cache: dict = {}
    resolved: dict[str, tuple[Path, str, float | None] | None] = {}

    def resolve(ref: str, kind: str):
        if ref not in resolved:
            f = resolver.resolve(ref)
            if f is None:
                resolved[ref] = None
            else:
                try:
                    h, d = _media_info(f, kind, info_cache)
                    resolved[ref] = (f, h, d)
                except errors.SupervisorError as e:
                    rep.warnings.append(f"{f.name}: {e}")
                    resolved[ref] = None
            how = resolver.how.get(ref, "")
            if resolved[ref] is not None and how.startswith("relinked"):
                rep.relinked.append(f"{ref} -> {resolved[ref][0]}")
            if resolved[ref] is None and ref not in rep.not_found:
                rep.not_found.append(ref)
        return resolved[ref]

    with cat.transaction():
        existing = store.find_project(cat, project_hash)
        ready = []
        for cue in plan.cues:
            m = resolve(cue.music_media, "music")
            pics = [(p, resolve(p.media, "picture")) for p in cue.picture]
            if m is None or any(r is None for _, r in pics):
                what = [cue.music_media] if m is None else []
                what += sorted({p.media for p, r in pics if r is None})
                rep.skipped.append(f"{cue.track_name} cue at {cue.start_s:.2f}-{cue.end_s:.2f} s: media not found "
                                   f"({', '.join(Path(w).name for w in what)})")
                continue
            key = store.pair_key(m[1], cue.music, [(r[1], p) for p, r in pics])
            ready.append((cue, m, pics, key))
        keys_new = [k for *_, k in ready if store.find_pair(cat, "timeline", k) is None]
        report = {"adapter": adapter, "not_found": rep.not_found, "skipped": rep.skipped, "warnings": rep.warnings,
                  "relinked": rep.relinked, "n_cues": rep.n_cues}
        if existing is None:
            if ready and not keys_new:
                rep.status = "duplicate"
                rep.n_pairs_duplicate = len(ready)
                rep.seconds = time.perf_counter() - t0
                return rep
            pid = store.add_project(cat, rep.name, str(path.resolve()), project_hash, adapter, plan.rate,
                                    plan.duration_s, report)
        else:
            pid = existing.id
            store.update_project(cat, pid, str(path.resolve()), report)
        rep.project_id = pid
        for cue, m, pics, key in ready:
            if store.find_pair(cat, "timeline", key) is not None:
                rep.n_pairs_duplicate += 1
                continue
            mid = store.upsert_media(cat, m[1], m[0], "music", m[2])
            picture = []
            for p, r in pics:
                vid = store.upsert_media(cat, r[1], r[0], "picture", r[2])
                picture.append(Piece(p.record_start_s, p.record_end_s, p.source_in_s, p.speed, str(vid)))
            music = [Piece(p.record_start_s, p.record_end_s, p.source_in_s, p.speed, "") for p in cue.music]
            track = cat.find_by_hash(m[1])
            store.add_pair(cat, project_id=pid, origin="timeline", key=key, music_media_id=mid, music=music,
                           picture=picture, track_id=track[0].id if track else None,
                           label=f"{cue.track_name}: {Path(m[0]).name}")
            rep.n_pairs_added += 1
        if existing is not None:
            rep.status = "updated" if rep.n_pairs_added else "unchanged"
    rep.seconds = time.perf_counter() - t0
    return rep


def import_projects(cat, paths: Sequence[str | Path], search_dirs: Iterable[str | Path] = (), rate: float | None = None,
                    music_tracks: Sequence[str] = (),
                    progress: ProgressFn | None = None) -> list[ImportReport]:
    """Import several timelines; a file that cannot be read is reported (status ``failed``), not fatal.
    A folder is searched for timeline files (recursive). ``progress(fraction, stage)`` after each file
    (the stage is its report's summary)."""
    from supervisor_app.archive.timeline import FORMATS

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in FORMATS
                            and not f.name.startswith("."))
        else:
            files.append(p)
    if not files:
        raise errors.UsageError("No timeline files given (.otio, .edl, .xml, .fcpxml, .kdenlive).")
    out = []
    for i, f in enumerate(files):
        try:
            rep = import_project(cat, f, search_dirs, rate, music_tracks)
        except errors.SupervisorError as e:
            rep = ImportReport(str(f), status="failed", error=str(e))
        out.append(rep)
        count_progress(progress, i + 1, len(files), rep.summary())
    return out
