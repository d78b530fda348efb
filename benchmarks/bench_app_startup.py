"""The desktop app's start as a user feels it: process start → first paint, with 1k, 10k and 100k-track catalogs.

Every launch is a fresh process started the way a user's shell starts the app
(``python -m supervisor_app.cli.main gui --catalog CAT``, working directory outside the repository,
``PYTHONPATH`` at this checkout), on an X server of its own (one ``Xvfb`` for the whole run when the
binary is there, else ``QT_QPA_PLATFORM=offscreen``), with ``SUPERVISOR_APP_REPORT_FIRST_PAINT=1``:
the app then prints, on stderr, the time of (see ``supervisor_app/gui/startup_probe.py``)

* **first paint**: the main window's first paint event;
* **populated**: the catalog view holds the track count and its first page of rows;
* **catalog window**: the catalog window, opened right after as a user does (File › Catalog…), has
  painted its first frame with those rows;

and quits. Times are from just before the parent's ``Popen`` (so interpreter start and imports count).
Per launch also the child's CPU time (user + system, from ``wait4``) and its peak RSS, and the CPU
time it had used at first paint (``time.process_time`` in the child). The **anchor** is the same
launch with an empty catalog (same schema, no rows): the floor of the app's start on this machine at
this moment; launches of all sizes are interleaved repeat by repeat, so they share the load, and the
load average is printed beside each row. One launch per catalog comes first and is not counted: it
writes the byte code and brings the files into the OS cache, as any start after the first one finds them.

The catalogs are built once and kept under ``--cache-dir`` (default ``<app data>/bench/app-startup``):

* the base is a copy of the shared indexed pool catalog (``--pool-catalog``, 51 real game-music tracks
  with their analyses and embeddings, migrated to the current schema);
* a catalog of N tracks is that base plus N - 51 replicas of its tracks (round robin), each a new row
  with its own id, path (``.../replicas/rK/<file>``: not on disk), content hash, and metadata a library
  would carry, generated deterministically: title ("<original> #K"), artist, album, genre, composer,
  publisher, label, ISRC, BPM tag, a duration of 0.6–1.4 × the original's, 1–4 tags from a
  vocabulary, rights ({"cleared": …, "territories": …}), notes on one track in ten; status 'missing' for
  1 in 500 and 'error' (with a sentence) for 1 in 1,000;
* ``--analysed-share`` (default 0.6) of the replicas get a copy of their original's analyses (beats,
  sections, auto-tags: ~3.5 KB of JSON per track) and its ``yamnet-mean`` embedding (4 KB), as a
  partly indexed catalog would; the per-second ``yamnet-frames`` embedding (~475 KB per track) is
  left out of the replicas (it would make the 100k catalog ~30 GB; the app's start reads no blob);
* 5 playlists of 10–60 entries and 20 scan errors.

Without the pool catalog the base is an empty catalog (no analyses; the report says so).

    .venv/bin/python benchmarks/bench_app_startup.py                         # 1k, 10k, 100k; 3 repeats
    .venv/bin/python benchmarks/bench_app_startup.py --sizes 100000 --repeats 5 --json out.json

Prints a markdown table (medians, min–max over the repeats).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor_app.infra import paths  # noqa: E402

PROBE_ENV = "SUPERVISOR_APP_REPORT_FIRST_PAINT"
EVENTS = ("first-paint", "catalog-populated", "catalog-window-paint")

_ARTISTS = ("Mara Lindqvist", "The Low Arches", "Kenji Amano", "Paloma Reyes Trio", "Northbound Brass",
            "Dust & Velvet", "Ilse Brandt", "Ochre Sound Collective", "Theo Marchetti", "Sunday Analog",
            "Ana Lúcia Prado", "Copperline", "Ruben Okafor", "Glass Harbour", "The Midnight Porters")
_GENRES = ("Cinematic", "Jazz", "Electronic", "Rock", "Orchestral", "Hip Hop", "Folk", "Ambient", "Pop", "Funk")
_TAGS = ("upbeat", "dark", "tense", "brass", "piano", "strings", "driving", "quirky", "warm", "epic",
         "melancholic", "hopeful", "percussive", "minimal", "retro", "playful")
_PUBLISHERS = ("Harbour Lane Music", "Blue Ochre Publishing", "Northbound Editions", "Velvet Room Music")
_TERRITORIES = ("Worldwide", "Worldwide excl. DE", "EU only", "North America")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a (possibly WAL-mode) catalog through SQLite's backup API."""
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as s, sqlite3.connect(tmp) as d:
        s.backup(d)
    os.replace(tmp, dst)


def build_base(cache: Path, pool_catalog: Path) -> tuple[Path, str]:
    from supervisor_app.catalog import Catalog

    base = cache / "base.sqlite"
    if not base.exists():
        if pool_catalog.exists():
            _copy_sqlite(pool_catalog, base)
        with Catalog.create(base):  # migrates a copied catalog to the current schema
            pass
    with sqlite3.connect(base) as con:
        n = con.execute("SELECT count(*) FROM tracks").fetchone()[0]
        n_an = con.execute("SELECT count(DISTINCT track_id) FROM analyses").fetchone()[0]
    src = f"a copy of {pool_catalog} ({n} real tracks, {n_an} with analyses)" if n else \
        "an empty catalog (no pool catalog here: the replicas have no analyses)"
    return base, src


def _replica_rows(con: sqlite3.Connection, n_new: int, seed: int = 0) -> list[tuple]:
    """(src_id, row dict) for ``n_new`` replicas of the base's tracks, round robin."""
    cols = [r[1] for r in con.execute("PRAGMA table_info(tracks)") if r[1] != "id"]
    src = [dict(zip(["id", *cols], r)) for r in con.execute(f"SELECT id, {', '.join(cols)} FROM tracks ORDER BY id")]
    rng = random.Random(seed)
    now = time.time()
    out = []
    for i in range(n_new):
        if src:
            s = src[i % len(src)]
            k = i // len(src) + 1
            name = Path(s["path"]).name
            title = f"{s['title'] or Path(s['path']).stem} #{k}"
            dur = float(s["duration_s"] or 180.0) * (0.6 + 0.8 * rng.random())
            src_id, chash = s["id"], f"{s['content_hash']}-r{k}"
        else:
            k, name, src_id = i + 1, f"track_{i:06d}.wav", None
            title, dur, chash = f"Track {i + 1}", 30.0 + 270.0 * rng.random(), f"synthetic-{i}"
        n = i + 1
        status, error = "ok", None
        if n % 500 == 0:
            status = "missing"
        elif n % 1000 == 7:
            status, error = "error", "The file cannot be decoded (it is damaged or not audio)."
        artist = _ARTISTS[rng.randrange(len(_ARTISTS))]
        tags = rng.sample(_TAGS, rng.randint(1, 4))
        row = {
            "path": f"/srv/library/replicas/r{k:04d}/{src_id}_{name}", "content_hash": chash,
            "size_bytes": int(dur * 40_000), "mtime": now - rng.random() * 3e7, "duration_s": round(dur, 3),
            "title": title, "artist": artist, "album": f"{artist}: Volume {rng.randint(1, 40)}",
            "genre": _GENRES[rng.randrange(len(_GENRES))], "bpm_tag": float(rng.randint(60, 180)) if rng.random() < 0.7 else None,
            "status": status, "error": error, "added_at": now - rng.random() * 3e7, "tags": json.dumps(tags),
            "notes": "Great for end credits." if n % 10 == 3 else None,
            "rights": json.dumps({"cleared": rng.random() < 0.8, "territories": _TERRITORIES[rng.randrange(4)]}),
            "composer": artist, "publisher": _PUBLISHERS[rng.randrange(len(_PUBLISHERS))], "label": "Bench Records",
            "isrc": f"ZZB{26:02d}{n:07d}", "one_stop": int(rng.random() < 0.5), "territories": None,
            "restrictions": "no political ads" if n % 50 == 0 else None, "cleared_for": "TV, Online",
            "description": None, "locked": "[]",
        }
        out.append((src_id, row))
    return out


def build_catalog(cache: Path, base: Path, base_text: str, n_tracks: int, share: float) -> tuple[Path, str]:
    cat, note = cache / f"catalog-{n_tracks}.sqlite", cache / f"catalog-{n_tracks}.txt"
    if cat.exists() and note.exists():
        return cat, note.read_text().strip()
    tmp = cache / f"catalog-{n_tracks}.building.sqlite"
    _copy_sqlite(base, tmp)
    t0 = time.monotonic()
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
        con.execute("BEGIN")
        have = con.execute("SELECT count(*) FROM tracks").fetchone()[0]
        reps = _replica_rows(con, max(0, n_tracks - have))
        if reps:
            names = list(reps[0][1])
            cur = con.execute("SELECT coalesce(max(id), 0) FROM tracks").fetchone()[0]
            con.executemany(f"INSERT INTO tracks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                            [tuple(r.values()) for _, r in reps])
            rng = random.Random(1)
            mapping = [(cur + 1 + i, src) for i, (src, _) in enumerate(reps)
                       if src is not None and r_ok(reps[i][1]) and rng.random() < share]
            con.execute("CREATE TEMP TABLE m (new_id INTEGER, src_id INTEGER)")
            con.executemany("INSERT INTO m VALUES (?, ?)", mapping)
            con.execute("INSERT INTO analyses (track_id, analyzer, version, result, error, computed_at) "
                        "SELECT m.new_id, a.analyzer, a.version, a.result, a.error, a.computed_at "
                        "FROM m JOIN analyses a ON a.track_id = m.src_id")
            con.execute("INSERT INTO embeddings (track_id, model, version, dtype, shape, data, computed_at) "
                        "SELECT m.new_id, e.model, e.version, e.dtype, e.shape, e.data, e.computed_at "
                        "FROM m JOIN embeddings e ON e.track_id = m.src_id WHERE e.model = 'yamnet-mean'")
        ids = [r[0] for r in con.execute("SELECT id FROM tracks ORDER BY id")]
        rng = random.Random(2)
        if not con.execute("SELECT count(*) FROM playlists").fetchone()[0]:
            for p in range(5):
                pid = con.execute("INSERT INTO playlists (name, created_at) VALUES (?, ?)",
                                  (f"Spot {p + 1}", time.time())).lastrowid
                chosen = rng.sample(ids, min(len(ids), rng.randint(10, 60)))
                con.executemany("INSERT INTO playlist_entries (playlist_id, position, track_id) VALUES (?, ?, ?)",
                                [(pid, j, t) for j, t in enumerate(chosen)])
            con.executemany("INSERT OR IGNORE INTO scan_errors (path, error, seen_at) VALUES (?, ?, ?)",
                            [(f"/srv/library/incoming/broken_{j:02d}.mp3", "The file is not audio.", time.time())
                             for j in range(20)])
        con.execute("COMMIT")
        n_an = con.execute("SELECT count(DISTINCT track_id) FROM analyses").fetchone()[0]
        n = con.execute("SELECT count(*) FROM tracks").fetchone()[0]
        con.execute("PRAGMA journal_mode = WAL")
    finally:
        con.close()
    os.replace(tmp, cat)
    size_mb = cat.stat().st_size / 1e6
    text = (f"{n} tracks ({base_text}, + {len(reps)} replicas with generated library metadata), {n_an} with "
            f"analyses, 5 playlists, 20 scan errors; {size_mb:.0f} MB; built in {time.monotonic() - t0:.0f} s")
    note.write_text(text + "\n")
    return cat, text


def r_ok(row: dict) -> bool:
    return row["status"] == "ok"


def build_empty(cache: Path) -> Path:
    from supervisor_app.catalog import Catalog

    p = cache / "catalog-empty.sqlite"
    if not p.exists():
        with Catalog.create(p):
            pass
    return p


class Display:
    """One Xvfb for the whole run (``--display xvfb``), or Qt's offscreen platform."""

    def __init__(self, kind: str):
        self.kind = "xvfb" if kind == "auto" and shutil.which("Xvfb") else ("offscreen" if kind == "auto" else kind)
        self.proc = None
        self.env: dict = {}
        if self.kind == "xvfb":
            r, w = os.pipe()
            self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                         pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.close(w)
            with os.fdopen(r) as f:
                num = f.readline().strip()
            self.env = {"DISPLAY": f":{num}", "QT_QPA_PLATFORM": "xcb"}
        else:
            self.env = {"QT_QPA_PLATFORM": "offscreen"}

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def launch(cat: Path, home: Path, display: Display, timeout_s: float, tree: Path = ROOT) -> dict:
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its byte code: written by the uncounted launch
    env.update(display.env)
    env.update({"PYTHONPATH": str(tree), PROBE_ENV: "1", "SUPERVISOR_APP_HOME": str(home / "app"),
                "XDG_CONFIG_HOME": str(home / "config"), "SUPERVISOR_NO_FIRST_RUN": "1"})
    cmd = [sys.executable, "-m", "supervisor_app.cli.main", "gui", "--catalog", str(cat)]
    load = _load()
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    events, other = {}, []
    deadline = time.monotonic() + timeout_s
    for line in proc.stderr:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "startup-probe":
            events[parts[1]] = (float(parts[2]) - t0, float(parts[3]))
        else:
            other.append(line.rstrip())
        if time.monotonic() > deadline:
            proc.kill()
            break
    _, status, ru = os.wait4(proc.pid, 0)
    t_exit = time.time() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if set(EVENTS) - set(events):
        raise RuntimeError(f"launch on {cat.name} exited {proc.returncode} without the probe's events "
                           f"{sorted(set(EVENTS) - set(events))}:\n" + "\n".join(other[-20:]))
    return {"first_paint_s": events["first-paint"][0], "cpu_at_first_paint_s": events["first-paint"][1],
            "populated_s": events["catalog-populated"][0], "catalog_window_s": events["catalog-window-paint"][0],
            "exit_s": t_exit, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024.0, "load": load}


def _cell(xs: list[float], digits: int = 2) -> str:
    med = statistics.median(xs)
    return f"{med:.{digits}f}" if len(xs) == 1 else f"{med:.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="catalog sizes, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache-dir", default=None, help="where the catalogs are built and kept")
    ap.add_argument("--pool-catalog", default="/work/pool-catalog/pool.sqlite")
    ap.add_argument("--analysed-share", type=float, default=0.6, help="share of replicas with analyses")
    ap.add_argument("--display", choices=("auto", "xvfb", "offscreen"), default="auto")
    ap.add_argument("--timeout", type=float, default=300.0, help="per launch, seconds")
    ap.add_argument("--tree", default=str(ROOT), help="checkout whose app is launched (PYTHONPATH)")
    ap.add_argument("--compare-tree", default=None, metavar="PATH",
                    help="another checkout (e.g. the code before a change, with the probe added) launched "
                         "interleaved with --tree on the same catalogs: its rows are marked 'before'")
    ap.add_argument("--rebuild", action="store_true", help="build the catalogs again")
    ap.add_argument("--json", default=None, help="also write the raw runs here")
    args = ap.parse_args(argv)

    cache = Path(args.cache_dir) if args.cache_dir else paths.data_dir() / "bench" / "app-startup"
    if args.rebuild and cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    base, base_text = build_base(cache, Path(args.pool_catalog))
    cats = {"empty (anchor)": (build_empty(cache), "0 tracks (schema only)")}
    for n in sizes:
        cats[f"{n:,}"] = build_catalog(cache, base, base_text, n, args.analysed_share)
    for name, (path, text) in cats.items():
        print(f"- **{name}**: `{path}`: {text}")
    display = Display(args.display)
    trees = {"": Path(args.tree)}
    if args.compare_tree:
        trees = {" (before)": Path(args.compare_tree), "": Path(args.tree)}
    print(f"\ndisplay: {display.kind}; {args.repeats} repeat(s), launches interleaved; tree {args.tree}"
          f"{'; before: ' + args.compare_tree if args.compare_tree else ''}; load before {_load()}\n", flush=True)
    runs: dict[str, list[dict]] = {f"{k}{t}": [] for k in cats for t in trees}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-app-startup-") as home:
            for tree in trees.values():  # not counted: byte code written, files in the OS cache (a user's 2nd start)
                for path, _ in cats.values():
                    launch(path, Path(home), display, args.timeout, tree)
            for rep in range(args.repeats):
                for cname, (path, _) in cats.items():
                    for tag, tree in trees.items():
                        name = f"{cname}{tag}"
                        r = launch(path, Path(home), display, args.timeout, tree)
                        runs[name].append(r)
                        print(f"  repeat {rep + 1} {name}: first paint {r['first_paint_s']:.2f} s, populated "
                              f"{r['populated_s']:.2f} s, catalog window {r['catalog_window_s']:.2f} s, CPU {r['cpu_s']:.2f} s, "
                              f"RSS {r['peak_rss_mb']:.0f} MB (load {r['load']})", flush=True)
    finally:
        display.close()
    anchors = {tag: runs[f"empty (anchor){tag}"] for tag in trees}
    print("\n| catalog | first paint, s | CPU at first paint, s | catalog view populated, s | catalog window painted, s "
          "| first paint − anchor, s | CPU to exit, s | peak RSS, MB | load (1/5/15 min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        anchor = anchors[" (before)" if name.endswith(" (before)") else ""]
        gap = [r["first_paint_s"] - a["first_paint_s"] for r, a in zip(rs, anchor)]
        print(f"| {name} | {_cell([r['first_paint_s'] for r in rs])} | {_cell([r['cpu_at_first_paint_s'] for r in rs])} "
              f"| {_cell([r['populated_s'] for r in rs])} | {_cell([r['catalog_window_s'] for r in rs])} "
              f"| {_cell(gap)} | {_cell([r['cpu_s'] for r in rs])} | {_cell([r['peak_rss_mb'] for r in rs], 0)} "
              f"| {', '.join(r['load'] for r in rs)} |")
    print(f"\n(medians, min–max over {args.repeats} repeats; times from process start; {display.kind} display; "
          "'first paint − anchor' pairs each launch with the empty-catalog launch of the same repeat)")
    if args.json:
        Path(args.json).write_text(json.dumps({"catalogs": {k: v[1] for k, v in cats.items()}, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
