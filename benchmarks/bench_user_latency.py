"""What a user waits for: drop a picture on ``recommend`` → first result → all results, as a user runs it.

Every measurement is a separate CLI process (``python -m supervisor_app.cli.main recommend PICTURE --catalog
CAT``), started from a working directory outside the repository with ``PYTHONPATH`` pointing at it, the
way a user's shell runs the installed app. For each picture length (default 15, 60 and 180 s: the Big
Buck Bunny clip looped with ffmpeg, 720p H.264 as a user's export would be) it times:

* **cold**: a picture the app has never seen. The looped picture gets a fresh ``comment`` metadata tag
  (stream copy, so the frames are the same but the file's bytes, hence its content hash, are new): shot
  detection and everything keyed on the picture runs again, as for a new cut of a film (the stored
  fits are cleared too: they are keyed on the cuts, which the copy shares with earlier runs);
* **cold, new finalists**: the same, and no finalist's audio was ever read for its splice check (the
  splice features in the app's cache cleared too): a catalog's first pictures, where every finalist's
  re-plan decodes its track;
* **warm, fits cleared**: the same file again with its analysis cached but the stored fits
  (``<cache>/fits``, :mod:`supervisor_app.ranking.fit_cache`) deleted: every candidate is fitted again, as
  every warm run did before fits were stored (the before/after of that change, in one run);
* **warm**: the same file again (analysis and fits cached).

Per run: drop → first result (the time the CLI's progress line logs "first result", i.e. the first
candidate fitted and scored: what the app shows first; on a cold picture a *provisional* one, ranked on
the picture's quick cuts before TransNetV2 has run, and the table says so), drop → first final result
(the first candidate scored on TransNetV2's shots), drop → all results (process exit, the table
printed), the stage breakdown read from the progress lines on stderr (each stage's first line, timed
by this process as it arrives), the child's CPU time (user + system) and its peak RSS (``wait4``).

The catalog is built once and kept under the app's data folder (``<data>/bench/user-latency/``):

0. a copy of ``--catalog PATH`` when given;
1. a copy of the shared indexed pool catalog when ``--pool-catalog`` (default /work/pool-catalog) holds
   ``READY``;
2. else a copy of the demo catalog when ``supervisor-app demo`` built one;
3. else a new catalog of ``--tracks`` files of the music pool (``<pool>/manifest.csv``), indexed with
   the CLI (slow: about 0.1 CPU s per audio-second).
The report states which, and how many indexed tracks it holds.

    .venv/bin/python benchmarks/bench_user_latency.py                    # 15, 60, 180 s; cold + warm
    .venv/bin/python benchmarks/bench_user_latency.py --lengths 15,60 --repeats 2

The machine may be shared: the load average is printed beside every run; compare runs of one
invocation (same load) rather than absolute seconds across invocations. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor_app.infra import paths  # noqa: E402

BBB = ROOT / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
_LINE_RE = re.compile(r"^\s*(?P<t>[0-9.]+) s (?:\[\s*(?P<pct>\d+)%\] )?(?P<text>.*)$")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def base_picture(length_s: float, folder: Path, media: Path | None = None) -> Path:
    """The picture of ``length_s`` seconds: ``<media>/bbb_<N>.mp4`` when it exists (the session's real-size
    H.264 pictures), else cut (re-encoded) from the longest of them that is longer, else BBB looped to
    ``length_s`` (720p H.264 + AAC); built once per length."""
    n = int(length_s)
    if media is not None and (media / f"bbb_{n}.mp4").exists():
        return media / f"bbb_{n}.mp4"
    out = folder / f"bbb_{n}s.mp4"
    if not out.exists():
        tmp = out.with_name(out.stem + ".tmp.mp4")
        longer = sorted((p for p in (media.glob("bbb_*.mp4") if media is not None and media.is_dir() else [])
                         if p.stem.split("_")[-1].isdigit() and int(p.stem.split("_")[-1]) > n),
                        key=lambda p: int(p.stem.split("_")[-1]))
        src = ["-i", str(longer[0])] if longer else ["-stream_loop", "-1", "-i", str(BBB)]
        _ffmpeg(*src, "-t", f"{length_s}", "-c:v", "libx264", "-preset", "veryfast",
                "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(tmp))
        os.replace(tmp, out)
    return out


def fresh_copy(base: Path, folder: Path) -> Path:
    """Same frames, new bytes (a new comment tag, stream copy): a picture the cache has never seen."""
    nonce = uuid.uuid4().hex[:12]
    out = folder / f"{base.stem}_{nonce}.mp4"
    _ffmpeg("-i", str(base), "-map", "0", "-c", "copy", "-metadata", f"comment=bench {nonce}", str(out))
    return out


def _indexed_count(cat_path: Path) -> int:
    with sqlite3.connect(f"file:{cat_path}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT COUNT(DISTINCT track_id) FROM analyses "
                               "WHERE analyzer LIKE 'beats%' AND result IS NOT NULL").fetchone()[0])


def _analysed_count(cat_path: Path) -> int:
    """Tracks with a beats analysis row (a grid, or a failure: free-time tracks), i.e. rankable."""
    with sqlite3.connect(f"file:{cat_path}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT COUNT(DISTINCT track_id) FROM analyses WHERE analyzer LIKE 'beats%'").fetchone()[0])


def _copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a (possibly WAL-mode) catalog through SQLite's backup API."""
    tmp = dst.with_name(dst.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as s, sqlite3.connect(tmp) as d:
        s.backup(d)
    os.replace(tmp, dst)


def replicate_to(cat: Path, n_tracks: int, music: Path) -> int:
    """Grow ``cat`` to ``n_tracks`` indexed tracks by replicating its indexed ones (round robin).

    Each replica is a new ``tracks`` row with its own id, its own path (a symlink under ``music`` to the
    same audio file), its own content hash (sha256 of the original's + the replica number: nothing keyed on the content
    hash, e.g. a free-time track's decoded envelope, is shared between replicas), a duration ``N`` ms
    longer (replica ``N``: no two replicas share a stored fit, which is keyed on the track's form), and copies of the
    original's stored analyses and embeddings. The per-track ranking work is exactly that of a real
    track; the ranking's *answer* on such a catalog is meaningless (many identical tracks). Returns the
    number of replicas added."""
    music.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(cat)
    try:
        ids = [r[0] for r in con.execute(
            "SELECT DISTINCT t.id FROM tracks t JOIN analyses a ON a.track_id = t.id WHERE a.analyzer LIKE 'beats%' "
            "AND t.status = 'ok' ORDER BY t.id")]  # analysed: with a beat grid or with beat tracking failed
        have = _analysed_count(cat)
        need = n_tracks - have
        if need <= 0 or not ids:
            return 0
        cols = [r[1] for r in con.execute("PRAGMA table_info(tracks)") if r[1] != "id"]
        added = 0
        with con:
            for i in range(need):
                src_id = ids[i % len(ids)]
                rep = i // len(ids) + 1
                row = dict(zip(cols, con.execute(f"SELECT {', '.join(cols)} FROM tracks WHERE id = ?",
                                                  (src_id,)).fetchone()))
                src = Path(row["path"])
                link = music / f"r{rep:03d}" / f"{src_id}_{src.name}"
                link.parent.mkdir(exist_ok=True)
                if not link.is_symlink():
                    link.symlink_to(src)
                row["path"] = str(link)
                row["content_hash"] = hashlib.sha256(f"{row['content_hash']} replica {rep}".encode()).hexdigest()
                # 1 ms longer per replica: the stored fits are keyed on the track's form (duration, bar
                # lines, sections), so identical replicas would share one fit and hide the planner's work
                if row.get("duration_s"):
                    row["duration_s"] = float(row["duration_s"]) + 0.001 * rep
                if row.get("title"):
                    row["title"] = f"{row['title']} (replica {rep})"
                cur = con.execute(f"INSERT INTO tracks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                  tuple(row.values()))
                new_id = cur.lastrowid
                for table in ("analyses", "embeddings"):
                    tcols = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] != "track_id"]
                    con.execute(f"INSERT INTO {table} (track_id, {', '.join(tcols)}) SELECT ?, {', '.join(tcols)} "
                                f"FROM {table} WHERE track_id = ?", (new_id, src_id))
                _move_bar_splices_end(con, new_id, row.get("duration_s"))
                added += 1
        return added
    finally:
        con.close()


def _move_bar_splices_end(con, track_id: int, duration_s) -> None:
    """A replica's bar-splices table (:mod:`supervisor_app.edit.bar_splices`) with its last bar line, the end
    of the file, moved to the replica's duration (N ms later): the table is used only on the exact bar lines
    of the track's form. Its end sides stay those computed N ms earlier (the same work; numbers that differ
    by at most one 23-ms feature frame)."""
    from supervisor_app.catalog.store import _array
    from supervisor_app.indexing.keys import bar_splices_key

    name, version = bar_splices_key()
    got = con.execute("SELECT dtype, shape, data FROM embeddings WHERE track_id = ? AND model = ? AND version = ?",
                      (track_id, name, version)).fetchone()
    if got is None or not duration_s:
        return
    arr = _array(*got)  # the catalog's own decoding of a stored array
    if arr.size:
        arr[-1, 0] = float(duration_s)
        con.execute("UPDATE embeddings SET data = ? WHERE track_id = ? AND model = ? AND version = ?",
                    (arr.tobytes(), track_id, name, version))


def index_free_time(cat: Path) -> int:
    """What ``catalog index`` now does for a catalog indexed before it did (a copied catalog may lack it):
    the splice sides at every track's bar lines (:mod:`supervisor_app.edit.bar_splices`), the strong onsets
    of the tracks without a bar grid, stored in the catalog, and their envelopes in the app's cache
    (:mod:`supervisor_app.indexing.free_time_points`). Returns how many free-time tracks got onsets."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.free_time_points import ensure_free_time_points
    from supervisor_app.indexing.pipeline import index_catalog

    with Catalog.open(cat) as c:
        n = ensure_free_time_points(c)
        report = index_catalog(c, workers=2)  # the tables of a catalog indexed before they were stored
        print(f"catalog index on the copy: {report.summary()}", flush=True)
        return n


def replicate_envelopes(cat: Path) -> int:
    """A replica is a new track to the app (its own content hash): give each free-time replica the envelope
    ``catalog index`` would have put in the app's cache for it (a copy of its original's), so the benchmark
    measures a catalog indexed the way users index theirs. Returns how many replicas got one."""
    from supervisor_app.analysis.envelope import ENVELOPE, ENVELOPE_VERSION
    from supervisor_app.indexing.free_time_points import FREE_TIME_POINTS
    from supervisor_app.infra.cache import AnalysisCache

    store = AnalysisCache()
    n = 0
    with sqlite3.connect(f"file:{cat}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT t.id, t.content_hash, t.path, a.result FROM tracks t JOIN analyses a ON "
                           "a.track_id = t.id WHERE a.analyzer = ? AND a.result IS NOT NULL", (FREE_TIME_POINTS,)).fetchall()
    originals = {}
    for tid, h, path, result in rows:  # replicas' paths are symlinks to their original's file
        if "strong_onsets_s" in json.loads(result):  # a free-time track (not a bar-grid marker)
            originals.setdefault(str(Path(path).resolve()), []).append(h)
    for hashes in originals.values():
        src = next((store.get_arrays(h, ENVELOPE, ENVELOPE_VERSION) for h in hashes
                    if store.get_arrays(h, ENVELOPE, ENVELOPE_VERSION) is not None), None)
        if src is None:
            continue
        for h in hashes:
            if store.get_arrays(h, ENVELOPE, ENVELOPE_VERSION) is None:
                store.put_arrays(h, ENVELOPE, ENVELOPE_VERSION, src)
                n += 1
    return n


def build_catalog(args, folder: Path) -> tuple[Path, str]:
    cat = folder / f"catalog-{args.n_tracks}.sqlite"
    note = folder / f"catalog-{args.n_tracks}.txt"
    if cat.exists() and note.exists() and not args.rebuild:
        return cat, note.read_text().strip()
    pool_cat = Path(args.pool_catalog) / "pool.sqlite"
    demo_cat = paths.data_dir() / "demo" / "catalog.sqlite"
    if args.catalog:
        _copy_sqlite(Path(args.catalog), cat)
        source = f"copy of {args.catalog}"
    elif (Path(args.pool_catalog) / "READY").exists() and pool_cat.exists():
        _copy_sqlite(pool_cat, cat)
        source = f"copy of the shared pool catalog {pool_cat}"
    elif demo_cat.exists() and _indexed_count(demo_cat) > 0 and not args.index_pool:
        _copy_sqlite(demo_cat, cat)
        source = f"copy of the demo catalog {demo_cat} (the pool catalog was not READY)"
    else:
        pool = Path(args.pool)
        import csv

        rows = list(csv.DictReader(open(pool / "manifest.csv", newline="")))[: args.tracks]
        music = folder / "music"
        music.mkdir(exist_ok=True)
        for r in rows:
            src = pool / r["path"]
            link = music / src.name
            if not link.exists():
                link.symlink_to(src)
        env = _env()
        for cmd in (["catalog", "create", str(cat)], ["catalog", "add", str(music), "--catalog", str(cat)],
                    ["catalog", "index", "--catalog", str(cat), "-q"]):
            subprocess.run(["nice", "-n", "10", sys.executable, "-m", "supervisor_app.cli.main", *cmd], check=True,
                           env=env, cwd=tempfile.gettempdir())
        source = f"{len(rows)} files of the music pool {pool}, indexed here"
    n_ft = index_free_time(cat)
    n_real, n_grid = _analysed_count(cat), _indexed_count(cat)
    n_rep = replicate_to(cat, args.n_tracks, folder / "replicas") if args.n_tracks else 0
    n_env = replicate_envelopes(cat)
    text = f"{source}; {n_real} really indexed tracks ({n_grid} with a beat grid)"
    text += (f"; free-time onsets stored as `catalog index` does ({n_ft} computed here, envelopes of "
             f"{n_env} free-time tracks in the app's cache)")
    if n_rep:
        text += (f", REPLICATED to {_analysed_count(cat)} ({n_rep} replicas: distinct ids, paths (symlinks to the "
                 "same audio) and content hashes, copied analyses and bar-splice tables (their end-of-file bar line moved with the "
                 "replica's duration), durations +1 ms per replica; the per-track ranking work is that of real "
                 "tracks, the ranking's answer is meaningless)")
    note.write_text(text + "\n")
    return cat, text


def _env(tree: Path = ROOT) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)  # the tree under test only (not the caller's PYTHONPATH)
    return env


def run_cli(picture: Path, cat: Path, k: int, extra=(), tree: Path = ROOT) -> dict:
    """One ``recommend`` process; stderr lines timed as they arrive; CPU and peak RSS from wait4."""
    cmd = [sys.executable, "-m", "supervisor_app.cli.main", "recommend", str(picture), "--catalog", str(cat),
           "-k", str(k), *extra]
    load = _load()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tree),
                            cwd=tempfile.gettempdir())
    lines: list[tuple[float, str]] = []
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    for raw in proc.stderr:
        lines.append((time.perf_counter() - t0, raw.rstrip("\n")))
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "\n".join(t for _, t in lines[-10:]))
    stages: list[tuple[str, float]] = []
    first = first_final = None
    provisional = False
    for t, text in lines:
        m = _LINE_RE.match(text)
        if not m:
            continue
        body = m.group("text")
        if body.startswith("first result"):
            first, provisional = t, "provisional" in body
            continue
        if body.startswith("first final result"):
            first_final = t
            continue
        kind = body.split(" (")[0]
        kind = "provisional ranking (quick cuts)" if kind.startswith("provisional") else kind
        kind = "decoding the picture (+ loading the shot network)" if kind.startswith("decoding") else kind
        kind = "fitting candidates" if kind.startswith("fitting") else kind
        kind = "audio re-plan of the finalists" if kind.startswith("listening") else kind
        kind = "probe + picture hash (analysing the video)" if kind.startswith("analysing the video") else kind
        kind = "reading the catalog's analyses" if kind.startswith("reading the analyses") else kind
        kind = "quick fit of every candidate" if kind.startswith("scoring") else kind
        kind = "ranking done → results printed, exit" if kind.startswith("done") else kind
        if not stages or stages[-1][0] != kind:
            stages.append((kind, t))
    breakdown = []
    for i, (kind, t) in enumerate(stages):
        end = stages[i + 1][1] if i + 1 < len(stages) else wall
        breakdown.append((kind, end - t))
    startup = stages[0][1] if stages else None
    if first is not None and not provisional:
        first_final = first
    return dict(wall_s=wall, first_s=first, first_final_s=first_final, provisional=provisional, cpu_s=ru.ru_utime + ru.ru_stime, rss_mb=ru.ru_maxrss / 1024,
                startup_s=startup, stages=breakdown, load=load,
                n_results=sum(1 for ln in "".join(out_chunks).splitlines() if re.match(r"^\s*\d+\s{2}", ln)))


def fmt(x) -> str:
    return "—" if x is None else f"{x:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="15,60,180", help="picture lengths in seconds (comma-separated)")
    ap.add_argument("--repeats", type=int, default=1, help="cold and warm runs per length")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--catalog", default=None, help="copy this catalog (e.g. a snapshot of one being indexed)")
    ap.add_argument("--pool-catalog", default="/work/pool-catalog", help="folder of the shared indexed catalog")
    ap.add_argument("--pool", default="/work/pool", help="the music pool (manifest.csv) to index from")
    ap.add_argument("--tracks", type=int, default=10, help="pool tracks to index when no catalog can be copied")
    ap.add_argument("--index-pool", action="store_true", help="index --tracks pool files even if a demo catalog exists")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached catalog")
    ap.add_argument("--media", default="/work/scratch/media",
                    help="folder of bbb_<seconds>.mp4 pictures to use (missing lengths are cut from a longer one)")
    ap.add_argument("--n-tracks", type=int, default=1000,
                    help="grow the catalog to this many indexed tracks by replicating indexed ones (0: as copied)")
    ap.add_argument("--cache-dir", default=None,
                    help="where the catalog and pictures are kept (default <data>/bench/user-latency)")
    ap.add_argument("--json", default=None, help="also write the runs to this JSON file")
    ap.add_argument("--tree", action="append", default=[],
                    help="a checkout of the app to run (repeatable: trees interleaved in one run, e.g. the commit "
                         "before a change and this one); default: this checkout")
    ap.add_argument("--warmup", action="store_true",
                    help="first run each tree once on the 15 s picture (fills per-track caches, e.g. the free-time "
                         "envelopes a new catalog decodes once), unreported")
    ap.add_argument("--kinds", default="cold,warm, fits cleared,warm",
                    help="which runs per picture, in order (comma-separated from: cold, 'cold, new finalists' "
                         "(the finalists' splice features cleared too), 'warm, fits cleared', warm)")
    args = ap.parse_args(argv)

    folder = Path(args.cache_dir) if args.cache_dir else paths.data_dir() / "bench" / "user-latency"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average {_load()} (1/5/15 min) on {os.cpu_count()} CPUs; data folder {paths.data_dir()}",
          flush=True)
    cat, source = build_catalog(args, folder)
    print(f"catalog: {source}", flush=True)
    pics = folder / "pictures"
    pics.mkdir(exist_ok=True)
    runs = []
    trees = [Path(t).resolve() for t in args.tree] or [ROOT]
    if args.warmup:  # per-track caches (free-time envelopes) are a catalog's, not a picture's: fill them first
        wpic = base_picture(15.0, pics, Path(args.media) if args.media else None)
        for tree in trees:
            r = run_cli(wpic, cat, args.k, tree=tree)
            print(f"[{tree.name}] catalog warm-up on the 15 s picture (not reported): {r['wall_s']:.1f} s, "
                  f"load {r['load']}", flush=True)
    kinds = [k.strip() for k in re.split(r",(?! fits| new)", args.kinds) if k.strip()]
    for length in [float(x) for x in args.lengths.split(",") if x.strip()]:
        base = base_picture(length, pics, Path(args.media) if args.media else None)
        for rep in range(args.repeats):
          for tree in trees:
            cold_pic = fresh_copy(base, pics)
            try:
                for n_kind, kind in enumerate(kinds):
                    if kind.startswith("cold") and n_kind:  # every cold run gets a picture never seen
                        cold_pic.unlink(missing_ok=True)
                        cold_pic = fresh_copy(base, pics)
                    if kind != "warm":  # fits are keyed on the cuts, which a re-tagged copy shares: a
                        # truly new picture has none stored; "warm, fits cleared" = a warm run before fits
                        # were stored
                        shutil.rmtree(paths.cache_dir() / "fits", ignore_errors=True)
                    if kind == "cold, new finalists":  # no finalist's audio ever read for its splices (a
                        # catalog's first pictures): every re-plan decodes its track
                        from supervisor_app.edit.audibility import TRACK_FEATURES

                        shutil.rmtree(paths.cache_dir() / "analysis" / TRACK_FEATURES, ignore_errors=True)
                    r = run_cli(cold_pic, cat, args.k, tree=tree)
                    r.update(length_s=length, kind=kind, rep=rep, tree=tree.name)
                    runs.append(r)
                    print(f"[{tree.name}] {length:5.0f} s {kind}: first {fmt(r['first_s'])} s"
                          f"{' (provisional)' if r['provisional'] else ''}, first final {fmt(r['first_final_s'])} s, "
                          f"all {r['wall_s']:.1f} s, "
                          f"CPU {r['cpu_s']:.1f} s, peak RSS {r['rss_mb']:.0f} MB, load {r['load']}; "
                          + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"]), flush=True)
            finally:
                cold_pic.unlink(missing_ok=True)

    print(f"\n### recommend as a user runs it (catalog: {source}; k = {args.k})\n")
    print("| tree | picture | run | drop → first result (s) | drop → first final result (s) | drop → all results (s) "
          "| CPU (s) | peak RSS (MB) | startup until the first stage (s) | load (1/5/15) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        first = fmt(r["first_s"]) + (" (provisional)" if r["provisional"] else "")
        print(f"| {r['tree']} | {r['length_s']:.0f} s | {r['kind']} | {first} | {fmt(r['first_final_s'])} "
              f"| {r['wall_s']:.1f} | "
              f"{r['cpu_s']:.1f} | {r['rss_mb']:.0f} | {fmt(r['startup_s'])} | {r['load']} |")
    print("\n### Stage breakdown (s; each stage from its first progress line to the next stage's)\n")
    for r in runs:
        print(f"- [{r['tree']}] {r['length_s']:.0f} s {r['kind']}: startup {fmt(r['startup_s'])}; "
              + "; ".join(f"{k} {v:.1f}" for k, v in r["stages"]))
    print(f"\nload average at the end {_load()}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(catalog=source, runs=runs), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
