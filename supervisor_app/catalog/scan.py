"""Index the audio files of a folder into a catalog, incrementally and crash-safely.

``scan_folder`` first lists the audio files under the folder (``os.walk`` without following links
to folders, so a link loop cannot trap it; hidden files and folders, and links to files that are
themselves under the folder, are skipped), then handles each file in its own transaction:

* known path, same size and mtime → unchanged (no hashing, no decoding);
* new path whose content hash matches a track whose file is gone → moved (same id, analyses,
  playlist entries);
* new path otherwise → added (probe for duration, mutagen for tags);
* known path whose size or mtime changed → re-hashed and updated (analyses dropped if the content
  changed);
* tracks under the folder whose file no longer exists → status 'missing' (back to 'ok' when it
  reappears).

Problems (unreadable folders or files, links, damaged or non-audio files) are reported in
``ScanReport.errors`` and the catalog's ``scan_errors`` table, never raised. Killing the process at
any moment leaves a valid catalog; the next run resumes where it stopped. Nothing is ever written
beside the user's files.
"""
from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional

from supervisor_app.infra import errors
from supervisor_app import media
from supervisor_app.infra.hashing import content_hash
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, count_progress
from supervisor_app.catalog.metadata import read_tags

if TYPE_CHECKING:  # annotations only: the store imports this module (Catalog.add_folder)
    from supervisor_app.catalog.store import Catalog, Track

#: File extensions (lower case, with dot) that the scanner treats as audio tracks (the media layer's
#: list). Video files are not catalog tracks.
AUDIO_EXTENSIONS = media.AUDIO_EXTENSIONS


@dataclass
class ScanReport:
    """What :func:`scan_folder` (:meth:`Catalog.add_folder`) did (counts of files, plus the problems it met)."""

    root: str
    total: int = 0  # audio files found under root
    added: int = 0  # new tracks
    moved: int = 0  # known tracks found at a new path (recognised by content hash)
    updated: int = 0  # known path whose content or file facts changed
    restored: int = 0  # tracks marked missing before, found again at their path
    unchanged: int = 0
    missing: int = 0  # tracks under root whose file is gone (newly marked)
    ignored: int = 0  # files that are not audio (by extension), hidden files
    errors: list = field(default_factory=list)  # [(path, message)] — reported, never fatal
    cancelled: bool = False

    def summary(self) -> str:
        """One line for people, e.g. '12 added, 0 moved, ... 2 problems'."""
        parts = [
            f"{self.added} added",
            f"{self.moved} moved",
            f"{self.updated} updated",
            f"{self.restored} restored",
            f"{self.unchanged} unchanged",
            f"{self.missing} newly missing",
            f"{len(self.errors)} problem{'s' if len(self.errors) != 1 else ''}",
        ]
        text = ", ".join(parts)
        return text + (" (cancelled: run again to resume)" if self.cancelled else "")


def is_audio_name(name: str | Path) -> bool:
    """True when the file name has an audio extension the catalog indexes."""
    return os.path.splitext(os.fspath(name))[1].lower() in AUDIO_EXTENSIONS


def scan_folder(
    catalog: Catalog,
    folder: str | Path,
    progress: Optional[ProgressFn] = None,
    should_cancel: Optional[ShouldCancel] = None,
    skip: Optional[Callable[[str], bool]] = None,
) -> ScanReport:
    """Add or update every audio file under ``folder``; returns what changed.

    ``skip(path)``: files it returns True for are left out (counted as ignored; never marked missing).

    ``progress(fraction, stage)`` is called after each file; ``should_cancel()`` is polled between
    files (a cancelled scan keeps what it did and marks nothing missing).
    Raises :class:`errors.UsageError` only if ``folder`` itself is not a folder.
    """
    root = os.path.realpath(os.fspath(folder))
    if not os.path.exists(root):
        raise errors.UsageError(f"The folder {os.fspath(folder)} does not exist.")
    if not os.path.isdir(root):
        raise errors.UsageError(f"{os.fspath(folder)} is a file, not a folder: give the folder that holds the music.")

    started_at = time.time()
    report = ScanReport(root=root)
    cancelled = should_cancel or (lambda: False)
    problems: list[tuple[str, str, Optional[int], Optional[float]]] = []  # path, message, size, mtime

    files = _list_audio_files(root, report, problems, cancelled)
    if skip is not None:
        kept = [f for f in files if not skip(f)]
        report.ignored += len(files) - len(kept)
        files = kept
    report.total = len(files)
    # Problems met while walking (unreadable folders, links) are recorded in one transaction.
    with catalog.transaction():
        for path, message, size, mtime in problems:
            catalog.record_scan_error(path, message, size, mtime, seen_at=started_at)
            report.errors.append((path, message))
    if report.cancelled:
        return report

    known = {t.path: t for t in catalog.tracks_under(root)}
    seen: set[str] = set()
    for done, path in enumerate(files, start=1):
        if cancelled():
            report.cancelled = True
            return report
        seen.add(path)
        _scan_file(catalog, path, known.get(path), report, started_at)
        count_progress(progress, done, len(files), f"scanning {errors.display_name(path)}")

    _mark_missing(catalog, root, seen, report)
    catalog.prune_scan_errors(root, seen_before=started_at)
    return report


# --- walking ---------------------------------------------------------------------------------
def _list_audio_files(root: str, report: ScanReport, problems: list, cancelled: Callable[[], bool]) -> list[str]:
    """Sorted audio file paths under ``root``; counts ignored files and notes problems."""
    out: list[str] = []

    def on_error(err: OSError) -> None:
        where = err.filename or root
        reason = err.strerror or str(err)
        problems.append((os.fspath(where), f"The folder {os.path.basename(where)!r} cannot be read ({reason}).", None, None))

    for dirpath, dirnames, filenames in os.walk(root, topdown=True, onerror=on_error, followlinks=False):
        if cancelled():
            report.cancelled = True
            break
        kept = []
        for d in sorted(dirnames):
            full = os.path.join(dirpath, d)
            if d.startswith("."):
                continue
            if not _utf8_name(full):
                problems.append((errors.display_path(full), _bad_name_message(d, folder=True), None, None))
                continue
            if os.path.islink(full):
                problems.append((full, f"{d!r} is a link to a folder; links to folders are not followed "
                                       f"(add the folder it points to instead).", None, None))
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if name.startswith(".") or not is_audio_name(name) or _links_inside(full, root):
                report.ignored += 1
                continue
            if not _utf8_name(full):
                problems.append((errors.display_path(full), _bad_name_message(name), None, None))
                continue
            out.append(full)
    return out


def _utf8_name(path: str) -> bool:
    """False for a path whose bytes are not valid UTF-8 (Python holds them as lone surrogates): the
    catalog stores paths as text and playlists export them, so such a file cannot be indexed as it is."""
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _bad_name_message(name: str, folder: bool = False) -> str:
    kind = "folder" if folder else "file"
    return (f"The {kind} name '{errors.display_name(name)}' is not valid UTF-8, so it cannot be stored: rename it "
            f"(e.g. 'convmv -f latin1 -t utf8 -r --notest FOLDER') and add the folder again.")


def _links_inside(path: str, root: str) -> bool:
    """True for a link to a file under ``root``: that file is indexed under its own name."""
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    return target.startswith(os.path.join(root, "")) and os.path.isfile(target)


# --- one file ----------------------------------------------------------------------------------
def _scan_file(catalog: Catalog, path: str, track: Optional[Track], report: ScanReport, started_at: float) -> None:
    name = os.path.basename(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        msg = (f"{name!r} is a link to a file that does not exist." if os.path.islink(path)
               else f"The file {name!r} disappeared during the scan.")
        _problem(catalog, path, track, msg, None, None, report, started_at)
        return
    except OSError as e:
        msg = (f"{name!r} is a link that loops back on itself." if e.errno == errno.ELOOP
               else str(errors.FileUnreadableError(path, e.strerror or str(e))))
        _problem(catalog, path, track, msg, None, None, report, started_at)
        return
    if not stat.S_ISREG(st.st_mode):
        _problem(catalog, path, track, f"{name!r} is not a regular file.", None, None, report, started_at)
        return
    size, mtime = int(st.st_size), float(st.st_mtime)

    # Incremental: nothing to do for a file we already know in this exact state.
    if track is not None and track.size_bytes == size and track.mtime == mtime:
        if track.status == "ok":
            report.unchanged += 1
        elif track.status == "missing":
            catalog.set_status(track.id, "ok")
            report.restored += 1
        else:  # 'error' recorded for this very file state: report it again, do not re-decode
            _problem(catalog, path, track, track.error or f"The file {name!r} could not be read.", size, mtime,
                     report, started_at)
        return
    if track is None:
        old = catalog.scan_error(path)
        if old is not None and old["size_bytes"] == size and old["mtime"] == mtime:
            _problem(catalog, path, None, old["error"], size, mtime, report, started_at)
            return

    try:
        facts = _read_file(path, size)
    except errors.SupervisorError as e:
        _problem(catalog, path, track, str(e), size, mtime, report, started_at)
        return
    except Exception as e:  # a decoder bug on one file must not stop the scan of a whole library
        _problem(catalog, path, track, f"The file {name!r} could not be read ({type(e).__name__}: {e}).", size,
                 mtime, report, started_at)
        return

    h, duration_s, tags = facts
    with catalog.transaction():
        if track is None and catalog.find_by_path(path) is not None:
            report.unchanged += 1  # another process scanning the same folder added it meanwhile
            return
        if track is not None:
            catalog.refresh_track(track.id, h, size, mtime, duration_s, tags.title, tags.artist, tags.album,
                                  tags.genre, tags.bpm)
            report.updated += 1
        else:
            moved_from = next((t for t in catalog.find_by_hash(h) if t.path != path and not os.path.exists(t.path)),
                              None)
            if moved_from is not None:
                catalog.relocate_track(moved_from.id, path, size, mtime)
                report.moved += 1
            else:
                catalog.add_track(path, h, size, mtime, duration_s, tags.title, tags.artist, tags.album, tags.genre,
                                  tags.bpm)
                report.added += 1
        catalog.clear_scan_error(path)


def _read_file(path: str, size: int):
    """(content hash, duration in s, tags) of a readable audio file; typed errors otherwise."""
    if size == 0:
        raise errors.ZeroDurationError(path)
    if not os.access(path, os.R_OK):
        raise errors.FileUnreadableError(path, "permission denied")
    h = content_hash(path)
    info = media.probe(path)
    if not info.has_audio:
        raise errors.NoAudioStreamError(path)
    if info.duration_s is None or not info.duration_s > 0:
        raise errors.ZeroDurationError(path)
    return h, float(info.duration_s), read_tags(path)


def _problem(catalog: Catalog, path: str, track: Optional[Track], message: str, size: Optional[int],
             mtime: Optional[float], report: ScanReport, started_at: float) -> None:
    """Record a non-fatal problem (and flag the track, if the file is one) in one transaction."""
    with catalog.transaction():
        catalog.record_scan_error(path, message, size, mtime, seen_at=started_at)
        if track is not None:
            catalog.mark_track_error(track.id, message, size, mtime)
    report.errors.append((path, message))


def _mark_missing(catalog: Catalog, root: str, seen: set, report: ScanReport) -> None:
    for track in catalog.tracks_under(root):  # read again: moved tracks have their new path now
        if track.path in seen or track.status == "missing":
            continue
        if os.path.exists(track.path):
            continue  # still there, just not listed (e.g. inside a hidden folder): leave it alone
        catalog.set_status(track.id, "missing")
        report.missing += 1
