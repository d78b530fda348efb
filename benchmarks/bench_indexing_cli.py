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
segments, descriptors, tags) and embeddings as the first: identical or not, per table.

    .venv/bin/python benchmarks/bench_indexing_cli.py                       # demo music, this tree
    .venv/bin/python benchmarks/bench_indexing_cli.py --tree /path/to/old/checkout --tree . --rounds 2
    .venv/bin/python benchmarks/bench_indexing_cli.py --pool /tmp/pool/music-pool --tracks 10
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
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
