"""Scale: indexing cost and throughput, projected catalog indexing time, and a 1M-track catalog served.

Sections (one run; each can be skipped):

1. **stages** — per-stage CPU cost per audio-second before/after on a pool sample (the table of
   ``bench_indexing.py``, default 3 tracks here).
2. **throughput** — tracks/hour indexing the same pool tracks into fresh catalogs with the CLI
   (``supervisor-app catalog index``, a fresh process each: start-up and imports included): one
   process, a local process pool of 2 (``--workers 2``), and Ray with a private local cluster of 2 CPUs
   (``--engine ray --workers 2``: ``ray.init(num_cpus=2)``). Wall clock on this shared machine: the
   load average is printed with it; the steady rate is read from the stored results' timestamps.
3. **projection** — hours to index 35k and 1M tracks of 3.5 min on N cores, from the measured
   per-core CPU cost (section 1, or ``--cost``), every core busy (section 2 measures what 2 shared cores gave).
4. **catalog** — a synthetic 1M-track catalog written with SQL (tracks + two analyses per track,
   no arrays): ``Catalog.open``, ``count``, ``stats``, the full ``tracks()`` (time and memory), the
   paged accessors of :mod:`supervisor_app.catalog.paging`, and ``analyses_missing`` (what a resumed
   index run plans with).
5. **query** — a synthetic 1M-track Seg-VM-Net bank (512-d, 4–12 segments per track, float16 rows
   memory-mapped on disk, float32 centroids in RAM) and ``two_stage`` (exact centroid prefilter →
   NW-DTW on the top 500, k = 10), median of 5 queries; ``--ivf`` also builds and queries the FAISS
   index.

    .venv/bin/python benchmarks/bench_scale.py                         # everything (~20 min, ~9 GB temp disk)
    .venv/bin/python benchmarks/bench_scale.py --skip stages,query --tracks 4
    .venv/bin/python benchmarks/bench_scale.py --only catalog --n 1000000
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"  # per-core costs; the engines' workers inherit it (one core each)

import argparse  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SECTIONS = ("stages", "throughput", "projection", "catalog", "query")
TRACK_S = 210.0  # a typical commercial track: 3.5 min


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def mem_available_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


# --- 1. stages ---------------------------------------------------------------------------------------
def stages(pool: Path, n: int) -> float:
    import bench_indexing as bi

    r = bi.measure(bi.pool_sample(pool, n), verbose=False)
    bi.print_report(r, pool)
    return sum(r["after"].values()) / r["total_s"]


# --- 2. throughput -----------------------------------------------------------------------------------
def _fresh_catalog(folder: Path, sample, name: str):
    from supervisor_app.catalog import Catalog

    cat = Catalog.create(folder / f"{name}.sqlite")
    for k, (path, dur) in enumerate(sample):
        cat.add_track(path, f"{name}-{k}", 1, 0.0, dur, title=path.stem)
    return cat


def throughput(pool: Path, n: int, tmp: Path) -> dict:
    """Wall clock of the whole ``catalog index`` command (fresh process: start-up, imports, Ray's start)
    per engine, and the steady rate from the stored results' timestamps (second → last track)."""
    import json
    import subprocess

    import bench_indexing as bi

    sample = bi.pool_sample(pool, n, 30.0, 150.0)
    audio_s = sum(d for _, d in sample)
    runs = [("local, 1 process", ["--workers", "1"]),
            ("local process pool, 2 workers", ["--workers", "2"]),
            ("Ray, local cluster of 2 CPUs", ["--engine", "ray", "--workers", "2"])]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = {}
    print(f"\n## Throughput: {n} pool tracks ({audio_s / 60:.1f} min of audio); wall clock of the whole "
          "`supervisor-app catalog index` command in a fresh process\n")
    print("| engine | wall s | tracks/hour | audio-hours/hour | steady tracks/hour (2nd → last result) | "
          "analysis CPU s per audio-s (workers) | load average before |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for k, (label, flags) in enumerate(runs):
        cat = _fresh_catalog(tmp, sample, f"throughput{k}")
        path = cat.path
        cat.close()
        la = load()
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "catalog", "index", "--catalog", str(path),
                            "--json", *flags], capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{label} failed: {r.stderr[-2000:]}")
        rep = json.loads(r.stdout)
        assert rep["done"] == len(sample)
        cpu = sum(rep["cpu_s"].values()) / audio_s
        con = sqlite3.connect(path)
        stamps = sorted(t for (t,) in con.execute("SELECT max(computed_at) FROM analyses GROUP BY track_id"))
        con.close()
        steady = 3600 * (len(stamps) - 2) / (stamps[-1] - stamps[1]) if len(stamps) > 2 else float("nan")
        out[label] = (wall, steady)
        print(f"| {label} | {wall:.1f} | {3600 * len(sample) / wall:.0f} | {audio_s / wall:.1f} | {steady:.0f} "
              f"| {cpu:.4f} | {la} |")
    base = out[runs[0][0]]
    print(f"\nvs 1 process — process pool of 2: {base[0] / out[runs[1][0]][0]:.2f}x wall, "
          f"{out[runs[1][0]][1] / base[1]:.2f}x steady; Ray with 2 workers: {base[0] / out[runs[2][0]][0]:.2f}x wall, "
          f"{out[runs[2][0]][1] / base[1]:.2f}x steady (2 cores shared with other jobs: see the load average).")
    return out


# --- 3. projection -----------------------------------------------------------------------------------
def projection(cost_s_per_s: float, efficiency: float | None) -> None:
    measured = "" if efficiency is None else (
        f"; measured here with 2 workers on 2 shared cores: {efficiency:.2f}, see the load average above")
    print(f"\n## Projected indexing time (3.5-min tracks, {cost_s_per_s:.4f} CPU s per audio-second per core, "
          f"every core busy: the work is CPU-bound and per-track independent, the driver's writes cost "
          f"~0.05 % of it{measured})\n")
    cores = (1, 2, 16, 64, 256)
    print("| catalog | " + " | ".join(f"{c} cores" for c in cores) + " |")
    print("|---|" + "---:|" * len(cores))
    for n in (35_000, 100_000, 1_000_000):
        cpu_h = n * TRACK_S * cost_s_per_s / 3600
        cells = []
        for c in cores:
            h = cpu_h / c
            cells.append(f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days")
        print(f"| {n:,} tracks ({cpu_h:,.0f} CPU-hours) | " + " | ".join(cells) + " |")


# --- 4. catalog --------------------------------------------------------------------------------------
_TAGS = ('{"tags":[["Rock music",0.3121],["Electronic music",0.2011],["Pop music",0.1544],["Guitar",0.1422],'
         '["Drum kit",0.1201],["Bass guitar",0.1033],["Synthesizer",0.0912],["Heavy metal",0.0851],'
         '["Punk rock",0.0733],["Drum",0.0702],["Electric guitar",0.0654],["Progressive rock",0.0512]]}')
_OLDA = '{"boundaries_s":[0.0,14.23,41.8,72.55,104.9,131.2,163.71,188.04,210.0],"labels":null}'


def synthetic_catalog(path: Path, n: int) -> float:
    """Write ``n`` tracks (+ an auto-tags and an OLDA record each) with SQL; returns seconds."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.keys import AUTOTAGS, segment_versions, yamnet_version

    Catalog.create(path).close()
    name, (v_olda, _) = segment_versions("olda")
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("BEGIN")
    cte = f"WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < {int(n)}) "
    con.execute(cte + "INSERT INTO tracks (id, path, content_hash, size_bytes, mtime, duration_s, title, artist, album,"
                " genre, bpm_tag, status, added_at) SELECT x, '/mnt/music/' || (x % 997) || '/artist_' || (x % 50021)"
                " || '/track_' || x || '.ogg', lower(hex(randomblob(20))), 3000000 + x * 7 % 9000000, 1.7e9,"
                " 90.0 + (x * 37 % 250), 'Title number ' || x, 'Artist ' || (x % 50021), 'Album ' || (x % 90001),"
                " 'Genre ' || (x % 40), NULL, 'ok', 1.7e9 FROM cnt")
    con.execute("INSERT INTO analyses (track_id, analyzer, version, result, error, computed_at) "
                "SELECT id, ?, ?, ?, NULL, 1.7e9 FROM tracks", (AUTOTAGS, yamnet_version(), _TAGS))
    con.execute("INSERT INTO analyses (track_id, analyzer, version, result, error, computed_at) "
                "SELECT id, ?, ?, ?, NULL, 1.7e9 FROM tracks", (name, v_olda, _OLDA))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t0


def catalog_section(n: int, tmp: Path, full_load: bool) -> None:
    from supervisor_app.catalog import Catalog
    from supervisor_app.catalog.paging import LazyTracks, iter_tracks, tracks_after
    from supervisor_app.indexing.keys import AUTOTAGS, yamnet_version

    path = tmp / "million.sqlite"
    gen_s = synthetic_catalog(path, n)
    size = path.stat().st_size
    rows = []

    def timed(label, fn):
        t0 = time.perf_counter()
        out = fn()
        rows.append((label, time.perf_counter() - t0))
        return out

    cat = timed("Catalog.open", lambda: Catalog.open(path))
    timed("count()", cat.count)
    timed("stats()", cat.stats)
    lazy = timed("LazyTracks(catalog) (ids only)", lambda: LazyTracks(cat))
    timed("LazyTracks: first row (reads a page of 1000)", lambda: lazy[0])
    timed("LazyTracks: row 654,321 (another page)", lambda: lazy[min(654_321, len(lazy) - 1)])
    timed("tracks_after(500,000, limit 1000)", lambda: tracks_after(cat, 500_000, 1000))
    timed("iter_tracks: all rows, pages of 1000", lambda: sum(1 for _ in iter_tracks(cat)))
    timed("analyses_missing(autotags) (resume planning)", lambda: cat.analyses_missing(AUTOTAGS, yamnet_version()))
    rss0 = rss_mb()
    if full_load:
        tracks = timed("tracks() — every row as a Track", cat.tracks)
        rss_full = rss_mb() - rss0
        del tracks
    cat.close()
    print(f"\n## A {n:,}-track catalog (synthetic, SQL-generated in {gen_s:.0f} s: tracks + 2 small analyses each, "
          f"no arrays; {size / n:.0f} bytes per track, {size / 2**30:.2f} GiB)\n")
    print("| operation | seconds |")
    print("|---|---:|")
    for label, s in rows:
        print(f"| {label} | {s:.3f} |")
    if full_load:
        print(f"\n`tracks()` grows the process by {rss_full:.0f} MB ({rss_full * 2**20 / n:.0f} bytes per track); "
              f"LazyTracks keeps {len(lazy) * 8 / 2**20:.0f} MB of ids and at most 8 pages.")
    path.unlink()
    for extra in ("-wal", "-shm"):
        p = Path(str(path) + extra)
        if p.exists():
            p.unlink()


# --- 5. query ----------------------------------------------------------------------------------------
def query_section(n: int, tmp: Path, ivf: bool, top_n: int = 500, seed: int = 0) -> None:
    from supervisor_app.ranking import Prefilter, SegmentBank, two_stage

    rng = np.random.default_rng(seed)
    dim = 512
    lengths = np.sort(rng.integers(4, 13, size=n)).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    need_gb = n * dim * 4 / 2**30 + 1.0
    if mem_available_gb() < need_gb + 1.0:
        print(f"\n## Query at {n:,} tracks: skipped — {mem_available_gb():.1f} GB available, "
              f"~{need_gb:.1f} GB needed for the centroids")
        return
    t0 = time.perf_counter()
    emb_path = tmp / "bank_rows.npy"
    f = open(emb_path, "wb")  # written sequentially (a writable memmap would count the file in our RSS)
    np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(np.float16).str, "fortran_order": False,
                                             "shape": (total, dim)})
    centroids = np.empty((n, dim), dtype=np.float32)
    genres = rng.standard_normal((64, dim)).astype(np.float32)
    genres /= np.linalg.norm(genres, axis=1, keepdims=True)
    genre_of = rng.integers(0, 64, size=n)
    noise = rng.standard_normal((1 << 17, dim), dtype=np.float32) * np.float32(0.05)  # drawn once, then
    step = 20_000  # rows pick random noise rows: generation is bound by memory, not the RNG
    for a in range(0, n, step):
        b = min(n, a + step)
        r0, r1 = offsets[a], offsets[b]
        rows = noise[rng.integers(0, len(noise), size=r1 - r0)]
        rows += np.repeat(genres[genre_of[a:b]], lengths[a:b], axis=0)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        rows16 = rows.astype(np.float16)
        f.write(rows16.tobytes())
        r32 = rows16.astype(np.float32)
        centroids[a:b] = np.add.reduceat(r32, offsets[a:b] - r0, axis=0) / lengths[a:b, None]
    f.close()
    bank = SegmentBank(emb=np.load(emb_path, mmap_mode="r"), offsets=offsets, track_ids=np.arange(1, n + 1),
                       centroids=centroids)
    gen_s = time.perf_counter() - t0
    rss = rss_mb()

    def query():
        q = rng.standard_normal((12, dim)).astype(np.float32) * 0.05 + genres[rng.integers(64)]
        return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float64)

    queries = [query() for _ in range(6)]
    exact = Prefilter(bank, "exact")

    def run(pf, qs):
        walls, cpus = [], []
        for q in qs:
            c0, t0 = time.process_time(), time.perf_counter()
            two_stage(q, bank, "nw-dtw", top_n=top_n, k=10, prefilter=pf)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        return float(np.median(walls[1:])), float(np.median(cpus[1:]))

    w, c = run(exact, queries)
    print(f"\n## Query latency at {n:,} tracks ({total:,} segment rows, 512-d; rows float16 memory-mapped "
          f"({total * dim * 2 / 2**30:.1f} GiB on disk), centroids float32 in RAM "
          f"({centroids.nbytes / 2**30:.2f} GiB); "
          f"built in {gen_s:.0f} s; process RSS {rss:.0f} MB)\n")
    print("| prefilter | two_stage: top 500 → NW-DTW, k = 10: wall ms (median of 5) | CPU ms |")
    print("|---|---:|---:|")
    print(f"| exact centroid scan | {1e3 * w:.0f} | {1e3 * c:.0f} |")
    if ivf:
        t0 = time.perf_counter()
        pf = Prefilter(bank, "ivf")
        build = time.perf_counter() - t0
        w, c = run(pf, queries)
        print(f"| FAISS IVF (built in {build:.0f} s, nlist {pf.nlist}, nprobe {pf.nprobe}) | {1e3 * w:.0f} "
              f"| {1e3 * c:.0f} |")
    del bank
    emb_path.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", type=Path, default=Path("/tmp/pool/music-pool"))
    ap.add_argument("--stage-tracks", type=int, default=3, help="pool tracks for the per-stage table")
    ap.add_argument("--tracks", type=int, default=12, help="pool tracks for the throughput runs")
    ap.add_argument("--n", type=int, default=1_000_000, help="tracks of the synthetic catalog and bank")
    ap.add_argument("--cost", type=float, default=None, help="CPU s per audio-s for the projection (skips measuring)")
    ap.add_argument("--skip", default="", help=f"sections to skip, comma-separated: {','.join(SECTIONS)}")
    ap.add_argument("--only", default="", help="run only these sections")
    ap.add_argument("--ivf", action="store_true", help="also build and query the FAISS IVF prefilter")
    ap.add_argument("--no-full-load", action="store_true", help="don't time catalog.tracks() at full size")
    ap.add_argument("--tmpdir", default=None, help="where the big temporary files go")
    args = ap.parse_args()
    only = {s for s in args.only.split(",") if s}
    todo = [s for s in SECTIONS if (not only or s in only) and s not in set(args.skip.split(","))]
    print(f"# bench_scale ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {load()}, "
          f"{mem_available_gb():.1f} GB available)")
    cost = args.cost
    efficiency = None
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.tmpdir) as tmp:
        tmp = Path(tmp)
        if "stages" in todo:
            c = stages(args.pool, args.stage_tracks)
            cost = cost if cost is not None else c
        if "throughput" in todo:
            t = throughput(args.pool, args.tracks, tmp)
            rates = [v[1] for v in t.values()]
            efficiency = rates[2] / rates[0] / 2.0
        if "projection" in todo:
            if cost is None:
                print("\n(projection skipped: give --cost or run the stages section)")
            else:
                projection(cost, efficiency)
        if "catalog" in todo:
            catalog_section(args.n, tmp, not args.no_full_load)
        if "query" in todo:
            query_section(args.n, tmp, args.ivf)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
