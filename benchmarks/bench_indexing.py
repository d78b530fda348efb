"""Indexing cost per audio-second, stage by stage, before and after issue 10's changes — one run.

On a fixed sample of the real music pool (every ~15th track of 30–240 s, sorted by path; 10 tracks,
~25 min of audio) each track goes through both pipelines in the same process:

* **before** (the code as it was): ``load_audio`` at 44.1 kHz; madmom's ``RNNDownBeatProcessor``
  (its spectrogram pre-processing, then its 8 BLSTMs in madmom's own numpy code) and the DBN; MSAF
  olda + foote + sf on one shared feature computation (scipy's median filter inside HPSS); YAMNet's
  ``extract(path)`` (which decodes the file again at 16 kHz); storing frames + mean + tags + records.
* **after** (:mod:`supervisor_app.indexing.pipeline`): one decode feeding 44.1 kHz and 16 kHz resamplers;
  the same pre-processing with a batched STFT and the same 8 networks, both from
  :mod:`supervisor_app.analysis.madmom_fast`;
  the same DBN; MSAF with the exact sliding median (:mod:`supervisor_app.analysis.fast_median`);
  YAMNet on the shared 16 kHz signal; the same storing (and the compact ``frames=False`` storing).

Costs are **CPU seconds per audio-second on one core** (``time.process_time``, BLAS/OpenMP/numba
pinned to one thread), so they hold on a shared machine; wall-clock totals are printed too.
Quality checks in the same run: decoded samples, YAMNet frames and MSAF boundaries must be equal;
beats/downbeats are compared (identical tracks, downbeat F-measure with mir_eval's 70 ms window).

Then the downbeat-network study: for n = 1…8 networks (the first n of madmom's ensemble), downbeat
and beat F-measure against madmom's full 8-network output on the pool sample and against the
hand annotations of ``tests/data/madmom_sample.beats``, and the CPU cost of the networks.

    .venv/bin/python benchmarks/bench_indexing.py                      # 10 tracks (~15 min here)
    .venv/bin/python benchmarks/bench_indexing.py --tracks 3 --nets 1,2,4,8
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"  # per-core cost: before numpy/numba are imported

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POOL = Path("/tmp/pool/music-pool")
ALGOS = ("olda", "foote", "sf")
STAGES = ("decode", "madmom pre-processing", "madmom networks", "madmom DBN", "MSAF (3 algorithms)",
          "YAMNet", "store")


def pool_sample(pool: Path, n: int, lo_s: float = 30.0, hi_s: float = 240.0) -> list[tuple[Path, float]]:
    """``n`` tracks evenly spread over the pool's tracks of ``lo_s``–``hi_s`` seconds, sorted by path."""
    with open(pool / "manifest.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["path"])
    ok = [r for r in rows if lo_s <= float(r["duration_s"]) <= hi_s]
    if not ok:
        raise SystemExit(f"no track of {lo_s:g}–{hi_s:g} s in {pool}/manifest.csv")
    step = len(ok) / min(n, len(ok))
    pick = [ok[int(i * step)] for i in range(min(n, len(ok)))]
    return [(pool / r["path"], float(r["duration_s"])) for r in pick]


class Clock:
    """CPU seconds per named stage (process time: all threads of this process, pinned to one)."""

    def __init__(self):
        self.cpu: dict[str, float] = {}

    def __call__(self, stage: str, fn, *a, **k):
        t0 = time.process_time()
        out = fn(*a, **k)
        self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - t0
        return out


def dbn_beats(activations: np.ndarray) -> np.ndarray:
    """(n, 2) beats with bar positions, with track_beats' DBN settings."""
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    from supervisor_app.analysis import beats as bm

    dbn = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=bm.FPS, min_bpm=bm.DEFAULT_MIN_BPM,
                                       max_bpm=bm.DEFAULT_MAX_BPM)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(dbn(activations), dtype=np.float64).reshape(-1, 2)


def f_measure(ref_s, est_s) -> float:
    import mir_eval

    ref, est = np.asarray(ref_s, float), np.asarray(est_s, float)
    if len(ref) == 0 and len(est) == 0:
        return 1.0
    return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=0.07))


def downbeats(b: np.ndarray) -> np.ndarray:
    return b[b[:, 1] == 1, 0]


def records_and_arrays(beats, segs, frames, scores, frames_mode: bool):
    """What the indexer stores for one track (versions as in supervisor_app.indexing.pipeline)."""
    from supervisor_app.features.segments import segment_means_of
    from supervisor_app.indexing.autotags import autotags_from_scores
    from supervisor_app.indexing.keys import AUTOTAGS, YAMNET_FRAMES, YAMNET_MEAN, segmeans_key, yamnet_version
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.beats import BeatResult
    from supervisor_app.analysis.report import segments_analyzer

    yv = yamnet_version()
    bv = versions.beats_version()
    pos = beats[:, 1].astype(int)
    br = BeatResult(beats[:, 0], pos, beats[pos == 1, 0], 60.0 / float(np.median(np.diff(beats[:, 0]))),
                    int(pos.max()))
    recs = {versions.BEATS: {"version": bv, "result": br.to_dict(), "error": None},
            AUTOTAGS: {"version": yv, "result": {"tags": autotags_from_scores(scores)}, "error": None}}
    f16 = frames.astype(np.float16)
    arrays = {YAMNET_MEAN: (yv, frames.mean(axis=0).astype(np.float32))}
    if frames_mode:
        arrays[YAMNET_FRAMES] = (yv, f16)
    for a, r in segs.items():
        sv = versions.segments_version(a, bv)
        recs[segments_analyzer(a)] = {"version": sv, "result": r.to_dict(), "error": None}
        if not frames_mode:
            arrays[segmeans_key(a, sv)[0]] = (segmeans_key(a, sv)[1], segment_means_of(f16, r.boundaries_s))
    return {"records": recs, "arrays": arrays}


def payload_bytes(result: dict, by_name: dict | None = None) -> int:
    """Bytes of the arrays and JSON results one track stores; ``by_name`` accumulates them per name."""
    from supervisor_app.infra.fileio import json_dumps

    sizes = {name: arr.nbytes for name, (_, arr) in result["arrays"].items()}
    sizes.update({name: len(json_dumps(r["result"])) for name, r in result["records"].items() if r["result"]})
    if by_name is not None:
        for k, v in sizes.items():
            by_name[k] = by_name.get(k, 0) + v
    return sum(sizes.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", type=Path, default=POOL)
    ap.add_argument("--tracks", type=int, default=10)
    ap.add_argument("--nets", default="1,2,3,4,5,6,7,8", help="network counts to study ('' to skip)")
    args = ap.parse_args()
    r = measure(pool_sample(args.pool, args.tracks))
    print_report(r, args.pool)
    counts = [int(c) for c in args.nets.split(",") if c.strip()]
    if counts:
        nets_study(counts, r["per_net"], r["ref_beats"], r["total_s"])
    return 0


def measure(sample: list[tuple[Path, float]], verbose: bool = True) -> dict:
    """Run both pipelines on each track (see the module doc); returns the measurements."""
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()  # before any ``from madmom...`` import
    from supervisor_app.indexing.decode import decode_shared
    from supervisor_app.indexing.job import yamnet_frames
    from supervisor_app.indexing.pipeline import store_result
    from supervisor_app.analysis import beats as bm
    from supervisor_app.analysis.fast_median import fast_hpss
    from supervisor_app.analysis.segments import segment_each
    from supervisor_app.catalog import Catalog
    from supervisor_app.features import get_extractor
    from supervisor_app.media import load_audio

    from madmom.audio.signal import Signal

    rnn = bm._rnn_processor()
    fast = bm._fast_rnn(8)
    pre, ensemble, _ = rnn.processors
    yam = get_extractor("yamnet")
    # warm-up: model loading, numba compilation, MSAF's imports (not timed)
    x0 = load_audio(sample[0][0], sr=44100, duration_s=20.0)
    w_feat = fast.features(Signal(x0, sample_rate=44100))
    fast.per_network(w_feat[:300])
    yam.extract(sample[0][0])
    with fast_hpss():
        segment_each(x0, 44100, ALGOS, np.arange(0.5, 19.5, 0.5))

    before, after, wall = Clock(), Clock(), {"before": 0.0, "after": 0.0}
    tmp = tempfile.TemporaryDirectory(prefix="bench-indexing-")
    cat_b = Catalog.create(Path(tmp.name) / "before.sqlite")
    cat_a = Catalog.create(Path(tmp.name) / "after.sqlite")
    cat_c = Catalog.create(Path(tmp.name) / "compact.sqlite")
    checks = {"decode44": 0, "decode16": 0, "features": 0, "yamnet": 0, "beats": 0, "segments": 0}
    db_f, act_diff, per_net, ref_beats, total_s, diffs = [], 0.0, [], [], 0.0, []
    bytes_frames, bytes_compact, n_segments, by_name = 0, 0, [], {"frames": {}, "compact": {}}
    if verbose:
        print(f"{len(sample)} tracks:", file=sys.stderr)
    for k, (path, _) in enumerate(sample):
        ids = [c.add_track(path, f"h{k}", 1, 0.0, None) for c in (cat_b, cat_a, cat_c)]
        # ---- before
        t0 = time.perf_counter()
        x = before("decode", load_audio, path, sr=44100)
        dur = len(x) / 44100.0
        total_s += dur
        sig = Signal(x, sample_rate=44100)
        feat = before("madmom pre-processing", pre, sig)
        act_b = before("madmom networks", lambda: np.delete(ensemble(feat), 0, axis=1))
        beats_b = before("madmom DBN", dbn_beats, act_b)
        segs_b, _ = before("MSAF (3 algorithms)", segment_each, x, 44100, ALGOS, beats_b[:, 0])
        fr_b = before("YAMNet", yam.extract, path)
        res_b = records_and_arrays(beats_b, segs_b, fr_b.frames, fr_b.extra["class_scores"], True)
        before("store", store_result, cat_b, ids[0], res_b)
        wall["before"] += time.perf_counter() - t0
        # ---- after
        t0 = time.perf_counter()
        audio = after("decode", decode_shared, path, (44100, 16000))
        sig = Signal(audio[44100], sample_rate=44100)
        feat_a = after("madmom pre-processing", fast.features, sig)
        pn = after("madmom networks", fast.per_network, feat_a)
        act_a = after("madmom networks", fast.combine, pn)
        beats_a = after("madmom DBN", dbn_beats, act_a)
        with fast_hpss():
            segs_a, _ = after("MSAF (3 algorithms)", segment_each, audio[44100], 44100, ALGOS, beats_a[:, 0])
        frames_a, scores_a = after("YAMNet", yamnet_frames, audio[16000])
        res_a = records_and_arrays(beats_a, segs_a, frames_a, scores_a, True)
        after("store", store_result, cat_a, ids[1], res_a)
        wall["after"] += time.perf_counter() - t0
        res_c = records_and_arrays(beats_a, segs_a, frames_a, scores_a, False)
        store_result(cat_c, ids[2], res_c)
        # ---- checks
        checks["decode44"] += int(np.array_equal(x, audio[44100]))
        checks["decode16"] += int(np.array_equal(load_audio(path, sr=16000), audio[16000]))
        checks["yamnet"] += int(np.array_equal(fr_b.frames, frames_a))
        checks["features"] += int(np.array_equal(feat, feat_a))
        checks["beats"] += int(np.array_equal(beats_b, beats_a))
        if not np.array_equal(beats_b, beats_a):
            fb = f_measure(beats_b[:, 0], beats_a[:, 0])
            diffs.append(f"{path.name}: {len(beats_b)} vs {len(beats_a)} beats, beat F {fb:.3f}")
        checks["segments"] += int(all(a in segs_b and np.array_equal(segs_b[a].boundaries_s, segs_a[a].boundaries_s)
                                      for a in segs_a) and set(segs_a) == set(segs_b))
        db_f.append(f_measure(downbeats(beats_b), downbeats(beats_a)))
        act_diff = max(act_diff, float(np.abs(act_a - act_b).max()))
        per_net.append(pn)
        ref_beats.append(beats_b)
        bytes_frames += payload_bytes(res_a, by_name["frames"])
        bytes_compact += payload_bytes(res_c, by_name["compact"])
        n_segments.append({a: len(r.boundaries_s) - 1 for a, r in segs_a.items()})
        if verbose:
            print(f"  {path.parent.name}/{path.name}: {dur:.0f} s, {len(beats_a)} beats, "
                  f"segments {n_segments[-1]}", file=sys.stderr)

    for c in (cat_b, cat_a, cat_c):
        c.close()
    tmp.cleanup()
    return {"n": len(sample), "total_s": total_s, "before": before.cpu, "after": after.cpu, "wall": wall,
            "checks": checks, "db_f": db_f, "act_diff": act_diff, "diffs": diffs, "per_net": per_net,
            "ref_beats": ref_beats, "bytes_frames": bytes_frames, "bytes_compact": bytes_compact,
            "n_segments": n_segments, "by_name": by_name}


def print_report(r: dict, pool: Path = POOL) -> None:
    """The stage table, the same-results checks and the stored payload, as markdown."""
    n, total_s, checks, db_f, diffs = r["n"], r["total_s"], r["checks"], r["db_f"], r["diffs"]
    before, after, wall, act_diff = r["before"], r["after"], r["wall"], r["act_diff"]
    bytes_frames, bytes_compact, n_segments = r["bytes_frames"], r["bytes_compact"], r["n_segments"]
    print(f"\n## Indexing cost per audio-second ({n} pool tracks, {total_s / 60:.1f} min of audio), "
          "CPU s per audio-s on one core\n")
    print("| stage | before | after | before/after |")
    print("|---|---:|---:|---:|")
    for s in STAGES:
        b, a = before.get(s, 0.0) / total_s, after.get(s, 0.0) / total_s
        print(f"| {s} | {b:.5f} | {a:.5f} | {b / a if a else float('inf'):.1f}x |")
    tb, ta = sum(before.values()) / total_s, sum(after.values()) / total_s
    print(f"| **total (CPU)** | **{tb:.4f}** | **{ta:.4f}** | **{tb / ta:.1f}x** |")
    print(f"| total (wall clock, shared machine) | {wall['before'] / total_s:.4f} | {wall['after'] / total_s:.4f} | "
          f"{wall['before'] / wall['after']:.1f}x |")
    print(f"\nreal-time factor after: {1 / ta:.0f}x per core; a 3.5-min track costs {210 * ta:.1f} CPU s "
          f"(before: {210 * tb:.1f} s)")
    print("\n## Same results?\n")
    print(f"- decoded 44.1 kHz samples equal to load_audio: {checks['decode44']}/{n}; 16 kHz: {checks['decode16']}/{n}")
    print(f"- madmom's network input (batched STFT) equal to madmom's pre-processing: {checks['features']}/{n}")
    print(f"- YAMNet frames equal to extract(path): {checks['yamnet']}/{n}")
    print(f"- beats+bar positions identical to madmom's own networks: {checks['beats']}/{n}; "
          f"downbeat F (70 ms) after vs before: min {min(db_f):.3f}, mean {np.mean(db_f):.3f}; "
          f"max |activation difference| {act_diff:.2e}" + (f" (differing: {'; '.join(diffs)})" if diffs else ""))
    print(f"- MSAF boundaries identical (olda, foote, sf): {checks['segments']}/{n}")
    segs = {a: float(np.mean([d[a] for d in n_segments if a in d])) for a in ALGOS}
    print(f"\n## Stored payload per track (mean of {n}; {total_s / n:.0f} s average)\n")
    print(f"- frames kept (default): {bytes_frames / n / 1024:.0f} KiB per track "
          f"({bytes_frames / total_s / 1024:.2f} KiB per audio-second)")
    print(f"- frames=False: {bytes_compact / n / 1024:.0f} KiB per track ({bytes_compact / total_s / 1024:.2f} KiB per "
          f"audio-second); mean segments per track: " + ", ".join(f"{a} {v:.1f}" for a, v in segs.items()))
    for mode, parts in r["by_name"].items():
        print(f"- {mode}, KiB per track: " + ", ".join(f"{k} {v / n / 1024:.1f}" for k, v in sorted(parts.items())))


def nets_study(counts, per_net, ref_beats, total_s) -> None:
    """Downbeat quality vs number of networks, on the pool sample and the annotated madmom sample."""
    import soundfile as sf

    from supervisor_app.analysis import beats as bm
    from supervisor_app.analysis.madmom_fast import FastDownbeatRNN

    from madmom.audio.signal import Signal

    data = ROOT / "tests" / "data"
    xs, sr = sf.read(str(data / "madmom_sample.wav"), dtype="float32")
    ann = np.loadtxt(data / "madmom_sample.beats")
    fast8 = bm._fast_rnn(8)
    pn_sample = fast8.per_network(fast8.features(Signal(bm._to_mono_44k(xs, sr), sample_rate=44100)))
    feats = None
    print("\n## Downbeat networks: how many of the 8?\n")
    print("| networks | downbeat F vs 8 (pool, mean / min) | beat F vs 8 (pool, mean) | "
          "madmom_sample beat F / downbeat F vs annotation | network CPU s per audio-s |")
    print("|---:|---:|---:|---:|---:|")
    for c in counts:
        fd, fb = [], []
        for pn, ref in zip(per_net, ref_beats):
            est = dbn_beats(FastDownbeatRNN.combine(pn[:c]))
            fd.append(f_measure(downbeats(ref), downbeats(est)))
            fb.append(f_measure(ref[:, 0], est[:, 0]))
        est_s = dbn_beats(FastDownbeatRNN.combine(pn_sample[:c]))
        sb = f_measure(ann[:, 0], est_s[:, 0])
        sd = f_measure(ann[ann[:, 1] == 1, 0], downbeats(est_s))
        rnn_c = FastDownbeatRNN(bm._rnn_processor(), n_nets=c)
        if feats is None:
            from supervisor_app.media import load_audio

            path = pool_sample(POOL, 1)[0][0]
            feats = fast8.features(Signal(load_audio(path, sr=44100), sample_rate=44100))
            feats_s = len(feats) / 100.0
        t0 = time.process_time()
        rnn_c.per_network(feats)
        cost = (time.process_time() - t0) / feats_s
        print(f"| {c} | {np.mean(fd):.3f} / {min(fd):.3f} | {np.mean(fb):.3f} | {sb:.3f} / {sd:.3f} | {cost:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
