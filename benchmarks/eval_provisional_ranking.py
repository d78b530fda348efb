"""How far the provisional list (ranked on a picture's quick cuts) agrees with the final one (TransNetV2's shots).

``recommend(provisional=True)`` shows a cold picture's first ``k`` within seconds, ranked on the cuts of
:mod:`supervisor_app.analysis.quick_cuts`, then replaces them with the final ranking. This measures, per
picture, what a user would have listened to first against what the final list says:

* the quick cuts against TransNetV2's (F1 within ±2 frames and ±0.5 s);
* of the final top ``k``, how many the provisional list held (overlap@k), by track and by title (a
  catalog of replicas holds each piece several times: the title says which piece);
* where the final #1 stands in the provisional list (or "absent"), and the reverse;
* trivial baselines beside it: ``k`` tracks drawn at random from the final ranking's cut finalists (a list
  that ignores the picture among the tracks that fit it best), and from every candidate (k² / n).

Each picture is given fresh bytes first (stream copy with a new comment tag), so its shots are not cached.

    PYTHONPATH=. .venv/bin/python benchmarks/eval_provisional_ranking.py --catalog /work/pool-catalog/pool.sqlite \\
        /work/scratch/media/bbb_60.mp4 /work/scratch/media/bbb_180.mp4

Prints a markdown table (and the load average: it times nothing, but says what else ran).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor_app.catalog import Catalog  # noqa: E402
from supervisor_app.services.recommend import recommend  # noqa: E402


def _fresh(src: Path, folder: Path) -> Path:
    out = folder / f"fresh_{src.stem}{src.suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-metadata",
                    f"comment=eval-provisional-{time.time()}", str(out)], check=True)
    return out


def _f1(ref: list[float], got: list[float], tol_s: float) -> float:
    from supervisor_app.analysis.shots import matched_cuts

    if not ref and not got:
        return 1.0
    hits = matched_cuts(ref, got, tol_s)
    p = hits / len(got) if got else 0.0
    r = hits / len(ref) if ref else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _piece(title: str) -> str:
    return re.sub(r"\s*\(replica \d+\)$", "", title or "")


def evaluate(picture: Path, catalog: Path, k: int, seed: int) -> dict:
    from supervisor_app.analysis.shots import decode_picture, quick_shots

    got = []
    with Catalog.open(catalog) as cat:
        res = recommend(picture, cat, k=k, on_result=got.append, provisional=True)
    # what the app shows of them: the best k by fit (its list keeps the best k of the streamed results)
    prov = sorted((r for r in got if r.provisional), key=lambda r: -float(r.fit_score))[:k]
    final = res.results
    pic = decode_picture(picture, load_model=False)
    quick = quick_shots(pic) if pic is not None else None
    tn = [float(c) for c in res.video["cuts_s"]]
    q = list(quick.cuts_s) if quick is not None else []
    by_id_p, by_id_f = [r.track_id for r in prov], [r.track_id for r in final]
    by_t_p, by_t_f = {_piece(r.title) for r in prov}, {_piece(r.title) for r in final}
    n = max(1, res.n_candidates)
    rng = random.Random(seed)
    ranked_ids = [r.track_id for r in got if not r.provisional]
    draws = [len(set(rng.sample(ranked_ids, min(k, len(ranked_ids)))) & set(by_id_f)) for _ in range(200)]
    fps = pic.fps if pic is not None else 25.0
    return dict(picture=picture.name, duration_s=res.video["duration_s"], n_tn=len(tn), n_quick=len(q),
                f1_frames=_f1(tn, q, 2.0 / fps + 1e-6), f1_half_s=_f1(tn, q, 0.5), k=len(final), n=n,
                overlap_ids=len(set(by_id_p) & set(by_id_f)), overlap_titles=len(by_t_p & by_t_f),
                n_titles_final=len(by_t_f),
                final1_in_prov=(by_id_p.index(by_id_f[0]) + 1) if by_id_f and by_id_f[0] in by_id_p else None,
                prov1_in_final=(by_id_f.index(by_id_p[0]) + 1) if by_id_p and by_id_p[0] in by_id_f else None,
                random_overlap=sum(draws) / len(draws))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pictures", nargs="+", type=Path)
    ap.add_argument("--catalog", type=Path, required=True, help="an indexed catalog (copied first; the copy is used)")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="eval-provisional-") as tmp:
        cat = Path(tmp) / args.catalog.name
        shutil.copy2(args.catalog, cat)
        for p in args.pictures:
            rows.append(evaluate(_fresh(p, Path(tmp)), cat, args.k, args.seed))
            print(rows[-1], flush=True)
    print(f"\nload average {os.getloadavg()}; catalog {args.catalog} ; k = {args.k}\n")
    print("| picture | TransNetV2 cuts | quick cuts | cut F1 ±2 frames / ±0.5 s | final top-k held by the provisional "
          "list (tracks) | (pieces) | random k of the finalists (mean) | random k of all (k²/n) | final #1 in the provisional list | "
          "provisional #1 in the final list |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['picture']} ({r['duration_s']:.0f} s) | {r['n_tn']} | {r['n_quick']} | {r['f1_frames']:.2f} / "
              f"{r['f1_half_s']:.2f} | {r['overlap_ids']}/{r['k']} | {r['overlap_titles']}/{r['n_titles_final']} | "
              f"{r['random_overlap']:.1f}/{r['k']} | {r['k'] ** 2 / r['n']:.2f}/{r['k']} | {r['final1_in_prov'] or 'absent'} | {r['prov1_in_final'] or 'absent'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
