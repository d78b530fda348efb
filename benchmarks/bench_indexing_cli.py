"""``catalog index`` as users run it: a fresh CLI process, default threading, cold catalog.

For each source tree given (``--tree``, default: this checkout) and each round, a new catalog of the
same files is created and indexed by ``python -m supervisor_app.cli.main catalog index`` in a fresh process
with ``PYTHONPATH`` set to that tree. Reported per run: CPU seconds per audio-second (user + system,
from the child's rusage, so imports and start-up are included as a user pays them), wall seconds and
the peak resident set size. Trees are interleaved round by round so a changing machine load hits
them alike; the load average is printed before and after every run. Compare trees within one run.
Then, per tree, the CPU of each stage as the indexer reports it (``catalog index --json``: ``cpu_s``;
"rest" = the process's CPU outside them: start-up, imports, models, the catalog, the descriptors where
a tree computes them after the jobs), and a check that every tree stored the same analyses (beats,
segments, descriptors, tags) and embeddings as the first: identical or not, per table; then, since a
faster path may round differently, the results compared within tolerances (:func:`quality`: beats and
downbeats F-measure at 70 ms >= 0.99, tempo within 0.5 %, same meter, boundary hit rate at 0.5 s and
3 s, key, descriptors within 1 %, auto-tag lists); the exit status is 1 when a tolerance is missed.
The "before" anchor is any checkout, e.g. ``git worktree add /tmp/old <commit>``.

    .venv/bin/python benchmarks/bench_indexing_cli.py                       # demo music, this tree
    .venv/bin/python benchmarks/bench_indexing_cli.py --tree /path/to/old/checkout --tree . --rounds 2
    .venv/bin/python benchmarks/bench_indexing_cli.py --pool /tmp/pool/music-pool --tracks 10 \
        --tree /tmp/old --tree . --rounds 2                                 # README's figure
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _files(args) -> list[tuple[Path, float]]:
    if args.pool:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_indexing import pool_sample

        return pool_sample(args.pool, args.tracks)
    from supervisor_app.media import probe

    music = ROOT / "resources" / "demo" / "music"
    out = []
    for p in sorted(music.iterdir()):
        if p.suffix.lower() in (".ogg", ".mp3", ".wav", ".flac"):
            d = float(probe(p).duration_s or 0.0)
            if d >= 30.0:  # real tracks (the demo has no test clips, but be safe)
                out.append((p, d))
    return out


def _run_child(cmd: list[str], env: dict) -> tuple[float, float, float, int, str]:
    """(user s, sys s, wall s, peak RSS KiB, stderr tail) of one child process (run in the data folder:
    ``python -m`` puts the working directory first on sys.path, which must not shadow the tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=env["SUPERVISOR_APP_HOME"])
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: use a wrapper to isolate each run
    return after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, wall, after.ru_maxrss, proc.stdout


def _peak_rss_kib(cmd: list[str], env: dict) -> tuple[float, float, float, int, str]:
    """Run ``cmd`` under /usr/bin/time -f when present (exact per-run peak RSS); else rusage."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    if os.path.exists(gnu_time):
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as f:
            u, s, w, _, out = _run_child([gnu_time, "-f", "%U %S %M", "-o", f.name, *cmd], env)
            user, sys_s, rss = f.read().split()[-3:]
            return float(user), float(sys_s), w, int(rss), out
    u, s, w, rss, out = _run_child(cmd, env)
    return u, s, w, rss, out


def _stored(catalog: str) -> dict:
    """{(file name, table, name, version): digest of the stored result/error or array} of a catalog."""
    con = sqlite3.connect(catalog)
    names = {tid: Path(p).name for tid, p in con.execute("SELECT id, path FROM tracks")}
    out = {}
    for tid, analyzer, version, result, error in con.execute(
            "SELECT track_id, analyzer, version, result, error FROM analyses"):
        out[(names[tid], "analysis", analyzer, version)] = hashlib.sha1(
            json.dumps([json.loads(result) if result else None, error], sort_keys=True).encode()).hexdigest()
    for tid, model, version, data in con.execute("SELECT track_id, model, version, data FROM embeddings"):
        out[(names[tid], "embedding", model, version)] = hashlib.sha1(bytes(data)).hexdigest()
    con.close()
    return out


def _results(catalog: str) -> dict:
    """{(file name, analyzer): stored result dict or None} of a catalog."""
    con = sqlite3.connect(catalog)
    names = {tid: Path(p).name for tid, p in con.execute("SELECT id, path FROM tracks")}
    out = {(names[tid], analyzer): (json.loads(result) if result else None)
           for tid, analyzer, result in con.execute("SELECT track_id, analyzer, result FROM analyses")}
    con.close()
    return out


def _f(ref, est, window: float) -> float:
    import mir_eval
    import numpy as np

    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if not len(ref) and not len(est):
        return 1.0
    return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=window)) if len(ref) and len(est) else 0.0


def _hit_rate(ref_b, est_b, window: float) -> float:
    """F-measure of the inner boundaries (0 and the end left out) within ``window`` s, mir_eval's matching."""
    import mir_eval
    import numpy as np

    r, e = np.asarray(ref_b, float)[1:-1], np.asarray(est_b, float)[1:-1]
    if not len(r) and not len(e):
        return 1.0
    if not len(r) or not len(e):
        return 0.0
    matched = len(mir_eval.util.match_events(r, e, window))
    return 2.0 * matched / (len(r) + len(e))


def quality(ref: dict, got: dict) -> tuple[bool, list[str]]:
    """Compare two trees' stored analyses on the same files: beats and downbeats F-measure (70 ms),
    tempo and meter, segment boundaries' hit rate at 0.5 s and 3 s, descriptors and auto-tags.
    Pass: beats/downbeats F >= 0.99 per track, equal meter, tempo within 0.5 %, boundary hit rate at
    3 s >= 0.9 per track, equal key, numeric descriptors within 1 % (or 0.1 absolute), equal tag lists."""
    from statistics import mean

    lines, ok = [], True
    files = sorted({f for f, _ in ref})
    beats_f, down_f, tempo_d, meter_eq = [], [], [], []
    seg = {}
    for f in files:
        a, b = ref.get((f, "beats-madmom")), got.get((f, "beats-madmom"))
        if a and b:
            beats_f.append(_f(a["beats_s"], b["beats_s"], 0.07))
            down_f.append(_f(a["downbeats_s"], b["downbeats_s"], 0.07))
            tempo_d.append(abs(b["tempo_bpm"] / a["tempo_bpm"] - 1.0))
            meter_eq.append(a["meter"] == b["meter"])
        elif bool(a) != bool(b):
            ok = False
            lines.append(f"  {f}: beats stored by one tree only")
        for (ff, an), ra in ref.items():
            if ff != f or not an.startswith("segments-"):
                continue
            rb = got.get((f, an))
            if ra and rb:
                seg.setdefault(an, []).append((_hit_rate(ra["boundaries_s"], rb["boundaries_s"], 0.5),
                                               _hit_rate(ra["boundaries_s"], rb["boundaries_s"], 3.0)))
    if beats_f:
        ok &= min(beats_f) >= 0.99 and min(down_f) >= 0.99 and all(meter_eq) and max(tempo_d) <= 0.005
        lines.append(f"  beats F (70 ms) mean {mean(beats_f):.4f} min {min(beats_f):.4f}; downbeats F mean "
                     f"{mean(down_f):.4f} min {min(down_f):.4f}; tempo max rel. diff {max(tempo_d):.4f}; "
                     f"meter equal {sum(meter_eq)}/{len(meter_eq)} (n={len(beats_f)})")
    for an, v in sorted(seg.items()):
        h05, h3 = [x[0] for x in v], [x[1] for x in v]
        ok &= min(h3) >= 0.9
        lines.append(f"  {an}: boundary hit rate @0.5 s mean {mean(h05):.3f} min {min(h05):.3f}; "
                     f"@3 s mean {mean(h3):.3f} min {min(h3):.3f} (n={len(v)})")
    worst: dict[str, float] = {}
    keys_eq = tags_eq = n = 0
    for f in files:
        a, b = ref.get((f, "descriptors")), got.get((f, "descriptors"))
        if a and b:
            n += 1
            keys_eq += a.get("key") == b.get("key")
            for k, va in a.items():
                vb = b.get(k)
                if isinstance(va, (int, float)) and not isinstance(va, bool) and isinstance(vb, (int, float)):
                    d = abs(vb - va) / max(abs(va), 10.0 if k.endswith("_db") or k.endswith("bpm") else 1.0)
                    worst[k] = max(worst.get(k, 0.0), d)
        ta, tb = ref.get((f, "autotags-yamnet")), got.get((f, "autotags-yamnet"))
        if ta and tb:
            tags_eq += [t for t, _ in ta["tags"]] == [t for t, _ in tb["tags"]]
    if n:
        ok &= keys_eq == n and all(v <= 0.01 for v in worst.values())
        lines.append(f"  descriptors: key equal {keys_eq}/{n}; worst relative diff "
                     + ", ".join(f"{k} {v:.4f}" for k, v in sorted(worst.items()) if v))
        lines.append(f"  auto-tags: same ordered list {tags_eq}/{n}")
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", type=Path, help="source tree to run (repeatable)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pool", type=Path, help="music pool folder with manifest.csv (default: demo music)")
    ap.add_argument("--tracks", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    files = _files(args)
    audio_s = sum(d for _, d in files)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio; trees: {', '.join(map(str, trees))}")
    print(f"{'tree':<40} {'round':>5} {'CPU s/audio-s':>13} {'user':>7} {'sys':>7} {'wall s':>7} "
          f"{'peak RSS MB':>11}  load before/after")
    rows: dict[Path, list] = {t: [] for t in trees}
    stages: dict[Path, list] = {t: [] for t in trees}
    stored: dict[Path, dict] = {}
    results: dict[Path, dict] = {}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for rnd in range(args.rounds):
        for tree in trees:
            with tempfile.TemporaryDirectory(prefix="bench-index-cli-") as tmp:
                lib = Path(tmp) / "music"
                lib.mkdir()
                for p, _ in files:
                    os.symlink(p, lib / p.name)
                env = dict(os.environ, PYTHONPATH=str(tree), SUPERVISOR_APP_HOME=str(Path(tmp) / "home"))
                os.makedirs(env["SUPERVISOR_APP_HOME"])
                cat = str(Path(tmp) / "c.sqlite")
                cli = [sys.executable, "-m", "supervisor_app.cli.main"]
                for step in (["catalog", "create"], ["catalog", "add", str(lib)]):
                    subprocess.run(cli + step + ["--catalog", cat], env=env, check=True, capture_output=True,
                                   cwd=env["SUPERVISOR_APP_HOME"])
                load0 = os.getloadavg()[0]
                user, sys_s, wall, rss, out = _peak_rss_kib(
                    cli + ["catalog", "index", "-q", "--json", "--catalog", cat, "--workers", str(args.workers)],
                    env)
                load1 = os.getloadavg()[0]
                stages[tree].append(json.loads(out[out.index("{"):])["cpu_s"])
                stored.setdefault(tree, _stored(cat))
                results.setdefault(tree, _results(cat))
            per = (user + sys_s) / audio_s
            rows[tree].append((per, rss))
            print(f"{str(tree)[-40:]:<40} {rnd + 1:>5} {per:>13.3f} {user:>7.1f} {sys_s:>7.1f} {wall:>7.1f} "
                  f"{rss / 1024:>11.0f}  {load0:.1f}/{load1:.1f}")
    if len(trees) > 1:
        base = trees[0]
        for t in trees[1:]:
            r = [a[0] / b[0] for a, b in zip(rows[base], rows[t])]
            print(f"CPU ratio {base.name} / {t.name} per round: {', '.join(f'{x:.2f}' for x in r)}")
    names = sorted({k for t in trees for st in stages[t] for k in st})
    print("\nCPU s per audio-second by stage (median over rounds; 'rest' = process CPU outside the stages)")
    print(f"{'tree':<40} " + " ".join(f"{n:>11}" for n in names + ["rest", "total"]))
    for t in trees:
        from statistics import median as med

        per_stage = [med([st.get(n, 0.0) for st in stages[t]]) / audio_s for n in names]
        total = med([r[0] for r in rows[t]])
        print(f"{str(t)[-40:]:<40} " + " ".join(f"{v:>11.4f}" for v in per_stage + [total - sum(per_stage), total]))
    ok = True
    for t in trees[1:]:
        ref, got = stored[trees[0]], stored[t]
        for table in ("analysis", "embedding"):
            a = {k: v for k, v in ref.items() if k[1] == table}
            b = {k: v for k, v in got.items() if k[1] == table}
            diff = sorted({k[2] for k in set(a) | set(b) if a.get(k) != b.get(k)})
            ok &= not diff
            print(f"stored {'analyses' if table == 'analysis' else 'embeddings'} of {t.name} vs {trees[0].name}: "
                  + ("identical" if not diff else f"DIFFER in {', '.join(diff)}") + f" ({len(b)} vs {len(a)})")
    for t in trees[1:]:
        good, lines = quality(results[trees[0]], results[t])
        print(f"results of {t.name} vs {trees[0].name} within tolerance: {'yes' if good else 'NO'}")
        print("\n".join(lines))
        ok = good  # bit-identity is reported above; the tolerances decide
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
