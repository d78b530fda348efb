"""Per-query latency of every ranking distance over synthetic catalogs, against the numpy backend.

Synthetic catalogs look like real ones in shape: 8–20 segments per track (uniform), 512-d
L2-normalised segment embeddings drawn around 64 "genre" directions (so an IVF index has clusters to
find), a video query of ``--kq`` segments. For each catalog size it times, in the same process:

* ``batched``: :func:`supervisor_app.ranking.catalog_scores` over the whole catalog (median of repeats);
* the anchor, ``numpy backend``: the same call with ``backend="numpy"`` over the whole catalog (BLAS
  similarity products and the DTW recursions vectorised over the tracks of a chunk in numpy), timed the
  same way, for every distance whose computation it changes (the two DTWs, single and complete
  linkage; trace and best trace have one implementation, so no anchor row);
* with ``--loops`` only: :func:`supervisor_app.ranking.align` called per track and the thesis's
  pseudo-code in plain Python (tests/reference_distances.py), each timed on a subsample and
  extrapolated to the catalog (labelled; a weak anchor, kept for reference);
* the centroid prefilter (exact scan; FAISS IVF from 100k tracks) and a full two-stage query
  (prefilter top 500, then NW-DTW on those 500).

With ``--million``, a 1M-track catalog is built with float16 segment rows in a disk-backed memory map
(14M × 512 × 2 B ≈ 14 GB on disk, not in RAM) and float32 centroids in RAM (2 GB); only the prefilter
and the two-stage query are timed there.

    .venv/bin/python benchmarks/bench_distances.py --quick          # 1k and 10k, under a minute
    .venv/bin/python benchmarks/bench_distances.py                  # 1k, 10k, 100k
    .venv/bin/python benchmarks/bench_distances.py --million        # and 1M (minutes, ~16 GB disk)

The machine may be shared: compare the ratios (same run), and the CPU-time column, more than the
absolute milliseconds. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from supervisor_app.ranking import DISTANCES, Prefilter, SegmentBank, align, catalog_scores, two_stage
from supervisor_app.ranking.prefilter import _faiss  # noqa: E402
import reference_distances as ref  # noqa: E402

TARGETS_MS = {  # issue 5: (distance, catalog size) -> target per query
    ("nw-dtw", 10_000): 100, ("sw-dtw", 10_000): 100,
    ("trace", 100_000): 200, ("best-trace", 100_000): 200,
}
GENRES = 64
# Distances whose computation backend="numpy" changes (similarities by BLAS, DTW recursions in numpy).
NUMPY_ANCHORED = ("nw-dtw", "sw-dtw", "single", "complete")


def synthetic_bank(n: int, dim: int, rng: np.random.Generator, dtype=np.float32, out_path: Path | None = None,
                   genres: np.ndarray | None = None) -> SegmentBank:
    """n tracks of 8–20 segments around ``genres``; rows written chunk by chunk (into a memmap if
    ``out_path``). Tracks are generated already sorted by length, so the bank needs no reordering."""
    lengths = np.sort(rng.integers(8, 21, size=n)).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if out_path is not None:
        emb = np.lib.format.open_memmap(out_path, mode="w+", dtype=dtype, shape=(total, dim))
    else:
        emb = np.empty((total, dim), dtype=dtype)
    centroids = np.empty((n, dim), dtype=np.float32)
    genre_of = rng.integers(0, len(genres), size=n)
    step = 20_000
    for a in range(0, n, step):
        b = min(n, a + step)
        r0, r1 = offsets[a], offsets[b]
        rows = rng.random((r1 - r0, dim), dtype=np.float32) * 2.0 - 1.0
        rows += np.repeat(genres[genre_of[a:b]], lengths[a:b], axis=0)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        emb[r0:r1] = rows
        centroids[a:b] = np.add.reduceat(rows, offsets[a:b] - r0, axis=0) / lengths[a:b, None]
    if out_path is not None:
        emb.flush()
        emb = np.load(out_path, mmap_mode="r")
    return SegmentBank(emb=emb, offsets=offsets, track_ids=rng.permutation(n * 4)[:n].astype(np.int64),
                       centroids=centroids)


def make_query(kq: int, dim: int, rng: np.random.Generator, genres: np.ndarray) -> np.ndarray:
    q = rng.random((kq, dim), dtype=np.float32) * 2.0 - 1.0 + genres[rng.integers(len(genres))]
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float64)


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall ms, median process CPU ms) over ``repeats`` calls after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls) * 1e3), float(np.median(cpus) * 1e3)


def per_track_ms(fn, positions) -> float:
    t0 = time.perf_counter()
    for p in positions:
        fn(p)
    return (time.perf_counter() - t0) * 1e3 / len(positions)


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def mem_now() -> str:
    """Current anonymous (heap) and file-backed (memory-mapped, page cache) resident memory."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
                      if line.startswith(("RssAnon", "RssFile")))
        return ", ".join(f"{k} {int(v.split()[0]) / 1024**2:.2f} GB" for k, v in fields.items())
    except OSError:
        return "n/a"


def fmt_ms(x: float) -> str:
    """A duration given in ms, written with its unit (seconds from 10 s up)."""
    return f"{x:,.1f} ms" if x < 10_000 else f"{x / 1000:,.1f} s"


def bench_size(n, args, rng, genres, rows_out: list, pf_out: list) -> None:
    t0 = time.perf_counter()
    bank = synthetic_bank(n, args.dim, rng, dtype=np.dtype(args.dtype), genres=genres)
    build_s = time.perf_counter() - t0
    q = make_query(args.kq, args.dim, rng, genres)
    print(f"\n[{n:,} tracks] bank {bank.nbytes() / 1e9:.2f} GB ({bank.emb.shape[0]:,} segments), "
          f"built in {build_s:.1f} s; peak RSS {rss_gb():.2f} GB", flush=True)
    sample = rng.choice(n, size=min(n, args.align_sample), replace=False)
    small = sample[: min(len(sample), args.loop_sample)]
    for dist in DISTANCES:
        wall, cpu = timed(lambda bank=bank, dist=dist: catalog_scores(q, bank, dist), args.repeats)
        np_wall = np_cpu = None
        if dist in NUMPY_ANCHORED:
            np_wall, np_cpu = timed(lambda bank=bank, dist=dist: catalog_scores(q, bank, dist, backend="numpy"), args.repeats)
        if not args.loops:
            al = rf = None
        else:
            al = per_track_ms(lambda p: align(bank.segments(p), q, dist), sample) * n
            rf = per_track_ms(lambda p: ref.score(bank.segments(p), q, dist), small) * n
        target = TARGETS_MS.get((dist, n))
        rows_out.append(dict(n=n, distance=dist, batched_ms=wall, batched_cpu_ms=cpu, numpy_ms=np_wall,
                             numpy_cpu_ms=np_cpu, align_loop_ms=al, reference_loop_ms=rf,
                             align_sample=len(sample) if al is not None else None,
                             reference_sample=len(small) if rf is not None else None, target_ms=target))
        anchor = "" if np_wall is None else f"  numpy backend {fmt_ms(np_wall)} (cpu {fmt_ms(np_cpu)})"
        loops = "" if al is None else f"  align loop ~{fmt_ms(al)}  reference ~{fmt_ms(rf)}"
        print(f"  {dist:10s} batched {fmt_ms(wall):>11} (cpu {fmt_ms(cpu)}){anchor}{loops}"
              + (f"  target < {target} ms" if target else ""), flush=True)
    bench_prefilter(bank, n, args, rng, genres, pf_out)
    del bank


def bench_prefilter(bank, n, args, rng, genres, pf_out: list) -> None:
    queries = [make_query(args.kq, args.dim, rng, genres) for _ in range(args.recall_queries)]
    exact = Prefilter(bank, "exact")
    wall, cpu = timed(lambda: exact.search(queries[0], 500), args.repeats)
    two, two_cpu = timed(lambda: two_stage(queries[0], bank, "nw-dtw", top_n=500, k=10, prefilter=exact),
                         args.repeats)
    pf_out.append(dict(n=n, method="exact", build_s=0.0, search_ms=wall, search_cpu_ms=cpu, recall=1.0,
                       two_stage_ms=two, two_stage_cpu_ms=two_cpu))
    print(f"  prefilter exact top-500 {fmt_ms(wall)}; two-stage (exact + NW-DTW on 500) {fmt_ms(two)}",
          flush=True)
    if n >= args.ivf_min and _faiss() is None:
        print("  (faiss-cpu not installed: IVF prefilter skipped)", flush=True)
    elif n >= args.ivf_min:
        t0 = time.perf_counter()
        ivf = Prefilter(bank, "ivf")
        build = time.perf_counter() - t0
        wall, cpu = timed(lambda: ivf.search(queries[0], 500), args.repeats)
        rec = np.mean([len(set(ivf.search(qq, 300).positions) & set(exact.search(qq, 300).positions)) / 300
                       for qq in queries])
        two, two_cpu = timed(lambda: two_stage(queries[0], bank, "nw-dtw", top_n=500, k=10, prefilter=ivf),
                             args.repeats)
        pf_out.append(dict(n=n, method=f"ivf (nlist {ivf.nlist}, nprobe {ivf.nprobe})", build_s=build,
                           search_ms=wall, search_cpu_ms=cpu, recall=float(rec), two_stage_ms=two,
                           two_stage_cpu_ms=two_cpu))
        print(f"  prefilter ivf build {build:.1f} s, top-500 {fmt_ms(wall)}, recall@300 {rec:.3f}; "
              f"two-stage {fmt_ms(two)}", flush=True)


def bench_million(args, rng, genres, pf_out: list, notes: list) -> None:
    n = args.big_n
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        t0 = time.perf_counter()
        bank = synthetic_bank(n, args.dim, rng, dtype=np.float16, out_path=Path(tmp) / "emb.npy", genres=genres)
        build = time.perf_counter() - t0
        emb_gb = bank.emb.shape[0] * bank.emb.shape[1] * 2 / 1e9
        note = (f"{n:,} tracks: {bank.emb.shape[0]:,} segments; float16 rows memory-mapped from disk "
                f"({emb_gb:.1f} GB on disk, paged in on demand), float32 centroids in RAM "
                f"({bank.centroids.nbytes / 1e9:.2f} GB); generated in {build:.0f} s; peak RSS {rss_gb():.2f} GB")
        print("\n[" + note + "]", flush=True)
        notes.append(note)
        wall, cpu = timed(lambda: catalog_scores(make_query(args.kq, args.dim, rng, genres), bank, "centroid"),
                          args.repeats)
        print(f"  centroid over {n:,} {fmt_ms(wall)}", flush=True)
        notes.append(f"centroid distance over all {n:,} tracks: {wall:.1f} ms (cpu {cpu:.1f} ms)")
        bench_prefilter(bank, n, args, rng, genres, pf_out)
        # Cold-ish: candidates of a fresh query whose rows may not be in the page cache yet.
        q = make_query(args.kq, args.dim, rng, genres)
        t0 = time.perf_counter()
        two_stage(q, bank, "nw-dtw", top_n=500, k=10)
        notes.append(f"{n:,} two-stage (exact prefilter), one run of a new query (not repeated): "
                     f"{(time.perf_counter() - t0) * 1e3:.0f} ms")
        print("  " + notes[-1], flush=True)
        notes.append(f"memory after the {n:,} run: {mem_now()} (RssFile = pages of the memory-mapped rows "
                     f"currently in RAM; the kernel drops them under pressure); peak RSS {rss_gb():.2f} GB "
                     "including the mapping written while generating")
        del bank


def print_tables(rows, pf_rows, notes, args) -> None:
    print(f"\n### Ranking distances, per query (Kq = {args.kq} video segments, d = {args.dim}, "
          f"8–20 segments per track, {args.dtype} rows)\n")
    print("| tracks | distance | batched (numba) | batched CPU | numpy backend | numpy CPU "
          "| × vs numpy (wall) | × vs numpy (CPU) | target |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        tgt = r.get("target_ms")
        b, nw = r["batched_ms"], r.get("numpy_ms")
        ok = "" if tgt is None else f"< {tgt} ms: " + ("met" if b < tgt else "MISSED")
        anchor = ("— | — | — | —" if nw is None else
                  f"{fmt_ms(nw)} | {fmt_ms(r['numpy_cpu_ms'])} | {nw / b:,.1f} | "
                  f"{r['numpy_cpu_ms'] / max(r['batched_cpu_ms'], 1e-9):,.1f}")
        print(f"| {r['n']:,} | {r['distance']} | {fmt_ms(b)} | {fmt_ms(r['batched_cpu_ms'])} | {anchor} | {ok} |")
    print("\n(— : trace and best trace have one implementation; the numpy backend changes nothing there.)")
    loop_rows = [r for r in rows if r.get("align_loop_ms") is not None]
    if loop_rows:
        print("\n| tracks | distance | per-track align() loop (extrapolated) | reference loop (extrapolated) |")
        print("|---:|---|---:|---:|")
        for r in loop_rows:
            print(f"| {r['n']:,} | {r['distance']} | {fmt_ms(r['align_loop_ms'])} | "
                  f"{fmt_ms(r['reference_loop_ms'])} |")
        a, s_ = loop_rows[0]["align_sample"], loop_rows[0]["reference_sample"]
        print(f"\nLoops timed on {a} (align) and {s_} (reference) random tracks and multiplied by the catalog size.")
    print("\n### Prefilter and two-stage query (prefilter top 500 → NW-DTW on 500 → top 10)\n")
    print("| tracks | prefilter | build | top-500 search | recall@300 vs exact | two-stage query "
          "| two-stage CPU | target |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for r in pf_rows:
        tgt = ("< 1000 ms: " + ("met" if r["two_stage_ms"] < 1000 else "MISSED")) if r["n"] >= 1_000_000 else ""
        print(f"| {r['n']:,} | {r['method']} | {r['build_s']:.1f} s | {fmt_ms(r['search_ms'])} | {r['recall']:.3f} | "
              f"{fmt_ms(r['two_stage_ms'])} | {fmt_ms(r['two_stage_cpu_ms'])} | {tgt} |")
    for note in notes:
        print(f"\n- {note}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 10k tracks only, 3 repeats")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated catalog sizes (default 1000,10000,100000; '' for none)")
    ap.add_argument("--million", action="store_true", help="also the 1M-track prefilter/two-stage run")
    ap.add_argument("--big-n", type=int, default=1_000_000, help="size of the --million catalog")
    ap.add_argument("--kq", type=int, default=12, help="segments in the video query (default 12)")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--align-sample", type=int, default=300, help="tracks timed for the align() loop")
    ap.add_argument("--loop-sample", type=int, default=20, help="tracks timed for the reference loop")
    ap.add_argument("--recall-queries", type=int, default=10)
    ap.add_argument("--ivf-min", type=int, default=100_000, help="also time the IVF prefilter from this size")
    ap.add_argument("--tmpdir", default=None, help="where the 1M memory map goes (default: system temp)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"],
                    help="storage of the segment rows for the 1k–100k catalogs (1M always uses float16)")
    ap.add_argument("--loops", action="store_true",
                    help="also time per-track align() and plain-Python reference loops (extrapolated)")
    ap.add_argument("--skip-loops", action="store_true", help="(default now; kept for old command lines)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] if args.sizes is not None else (
        [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    args.repeats = args.repeats or (3 if args.quick else 5)
    rng = np.random.default_rng(args.seed)
    genres = (rng.standard_normal((GENRES, args.dim)) * 0.3).astype(np.float32)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    warm = SegmentBank.from_arrays([0, 1], [np.eye(3), np.ones((2, 3))])
    for dist in DISTANCES:  # compile (or load from numba's cache) every kernel once
        catalog_scores(np.eye(3)[:2], warm, dist)
        align(np.eye(3), np.ones((2, 3)), dist)
    print(f"numba kernels compiled / loaded from cache in {time.perf_counter() - t0:.1f} s; "
          f"{len(os.sched_getaffinity(0))} usable CPUs, load average {load0:.1f}", flush=True)
    rows, pf_rows, notes = [], [], []
    for n in sizes:
        bench_size(n, args, rng, genres, rows, pf_rows)
    if args.million:
        bench_million(args, rng, genres, pf_rows, notes)
    notes.append(f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end, on {os.cpu_count()} CPUs")
    print_tables(rows, pf_rows, notes, args)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(distances=rows, prefilter=pf_rows, notes=notes,
                                                   kq=args.kq, dim=args.dim), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
