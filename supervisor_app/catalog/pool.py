"""The optional real music pool: ~230 freely licensed tracks from Debian's game-music packages.

``supervisor-app pool fetch [DEST]`` downloads the packages with ``apt-get download`` (Debian's
archive is the only network this needs), unpacks their audio files of at least 60 s into one
folder per package, and writes ``manifest.csv`` (package, path, duration_s, license). Re-running
is cheap: unpacked packages are skipped. The licences are those of Debian's copyright files.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from supervisor_app.infra.errors import SupervisorError
from supervisor_app.infra.fileio import atomic_write_text
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, check_cancelled, count_progress
from supervisor_app.infra.paths import data_dir

# package -> licence, as each package's Debian copyright file states it
POOL_PACKAGES: dict[str, str] = {
    "wesnoth-1.16-music": "GPL-2+",
    "warzone2100-music": "GPL-2+ / CC (see copyright)",
    "supertux-data": "GPL-2+ / CC-BY-SA (per file)",
    "hedgewars-data": "GPL-2 / CC-BY-SA (per file)",
    "drascula-music": "Drascula license (redistributable)",
    "colobot-common-sounds": "GPL-3+",
    "singularity-music": "CC-BY-SA (see copyright)",
    "hyperrogue-music": "CC-BY-SA-3.0 / mixed",
    "planetblupi-music-ogg": "GPL-3+",
    "fillets-ng-data": "GPL-2+",
    "extremetuxracer-data": "GPL-2+ / CC0 (per file)",
    "asc-music": "GPL-2+",
    "fretsonfire-songs-muldjord": "CC-BY-SA-3.0",
    "fretsonfire-songs-sectoid": "GPL",
}
_AUDIO = {".ogg", ".mp3", ".opus", ".flac", ".wav"}
_STEMS = {"guitar.ogg", "rhythm.ogg", "drums.ogg"}  # per-instrument stems of rhythm-game songs
_UNDECODABLE = re.compile(r"hr-savino-(ocean|ivory|caribbean)|christmas_theme\.ogg")
MIN_DURATION_S = 60.0


@dataclass
class PoolTrack:
    package: str
    path: str
    duration_s: float
    license: str


def default_pool_dir() -> Path:
    return data_dir() / "music-pool"


def _duration(path: Path) -> float:
    from supervisor_app.media import probe

    try:
        return probe(path).duration_s
    except SupervisorError:
        return 0.0


def fetch_pool(dest: Path | None = None, deb_cache: Path | None = None, log=print, progress: ProgressFn | None = None,
               should_cancel: ShouldCancel | None = None) -> list[PoolTrack]:
    """Build (or complete) the pool in ``dest``; returns its tracks. Needs apt-get and dpkg-deb.
    ``progress(fraction, stage)`` per package; ``should_cancel`` is polled between packages (a package
    half unpacked has no ``.done`` mark and is unpacked again next time)."""
    dest = Path(dest or default_pool_dir())
    deb_cache = Path(deb_cache or dest / ".debs")
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise SupervisorError(f"Fetching the music pool needs {tool} (a Debian or Ubuntu system); it was not found.")
    dest.mkdir(parents=True, exist_ok=True)
    deb_cache.mkdir(parents=True, exist_ok=True)
    tracks: list[PoolTrack] = []
    for k, (pkg, licence) in enumerate(POOL_PACKAGES.items()):
        check_cancelled(should_cancel, "Fetching the music pool")
        count_progress(progress, k, len(POOL_PACKAGES), f"fetching {pkg}")
        out = dest / pkg
        if not (out / ".done").exists():
            debs = sorted(deb_cache.glob(f"{pkg}_*.deb"))
            if not debs:
                log(f"downloading {pkg}")
                r = subprocess.run(["apt-get", "download", pkg], cwd=deb_cache, capture_output=True, text=True)
                debs = sorted(deb_cache.glob(f"{pkg}_*.deb"))
                if r.returncode != 0 or not debs:
                    log(f"skipped {pkg}: apt-get download failed (run 'apt-get update' first?)")
                    continue
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            with tempfile.TemporaryDirectory(dir=dest) as tmp:
                subprocess.run(["dpkg-deb", "-x", str(debs[-1]), tmp], check=True)
                for root, _dirs, files in os.walk(tmp):
                    for name in files:
                        src = Path(root) / name
                        if src.suffix.lower() not in _AUDIO or name in _STEMS or _UNDECODABLE.search(name):
                            continue
                        if src.is_symlink() or _duration(src) < MIN_DURATION_S:
                            continue
                        target_name = name
                        if name == "song.ogg":  # rhythm-game songs: name them after their folder
                            target_name = src.parent.name.replace(" ", "_") + ".ogg"
                        target = out / target_name
                        if not target.exists():
                            shutil.move(str(src), target)
            (out / ".done").touch()
            log(f"unpacked {pkg}")
        for f in sorted(out.iterdir()):
            if f.is_file() and f.suffix.lower() in _AUDIO:
                tracks.append(PoolTrack(pkg, str(f.relative_to(dest)), round(_duration(f), 3), licence))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["package", "path", "duration_s", "license"])
    for t in tracks:
        w.writerow([t.package, t.path, t.duration_s, t.license])
    atomic_write_text(dest / "manifest.csv", buf.getvalue())
    count_progress(progress, 1, 1, "music pool ready")
    log(f"{len(tracks)} tracks in {dest} (manifest.csv)")
    return tracks


def read_manifest(dest: Path | None = None) -> list[PoolTrack]:
    dest = Path(dest or default_pool_dir())
    m = dest / "manifest.csv"
    if not m.exists():
        return []
    with open(m, newline="") as f:
        return [PoolTrack(r["package"], r["path"], float(r["duration_s"]), r["license"]) for r in csv.DictReader(f)]
