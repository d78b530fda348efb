"""The faster indexing paths compute exactly what they replace: the harmonic-only separation inside
MSAF's features, the vectorised Viterbi pass (on rows with ties, NaN and -inf), and the descriptors
computed from the indexer's shared decode."""
from __future__ import annotations

import numpy as np
import pytest

from fixture_paths import MUSIC
from supervisor_app.media import load_audio


def test_harmonic_part_is_bit_identical_to_librosa_hpss():
    import librosa

    from supervisor_app.analysis.fast_median import fast_hpss, harmonic_part

    y = np.asarray(load_audio(MUSIC / "vibe_ace.ogg", sr=22050, mono=True)[: 22050 * 20], dtype=np.float32)
    with fast_hpss():
        want = librosa.effects.hpss(y)[0]
        got = harmonic_part(y)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    plain = harmonic_part(y[: 22050 * 5])  # scipy's median filter (no patch): still librosa's numbers
    assert np.array_equal(plain, librosa.effects.hpss(y[: 22050 * 5])[0])


class _Obs:
    """A madmom-like observation model: ``pointers`` (state -> column) and fixed log densities."""

    def __init__(self, pointers, dens):
        self.pointers = np.asarray(pointers, dtype=np.uint32)
        self._dens = dens

    def log_densities(self, observations):
        return self._dens


def test_viterbi_matches_madmom_on_ties_nan_and_inf_rows():
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()
    from madmom.ml.hmm import HiddenMarkovModel, ObservationModel, TransitionModel

    from supervisor_app.analysis.fast_viterbi import viterbi

    rng = np.random.default_rng(3)
    n = 40
    # rows of 1 to 4 predecessors, equal probabilities (ties), some zero-probability entries (-inf)
    pointers, prev = [0], []
    for s in range(n):
        k = int(rng.integers(1, 5))
        prev += list(rng.choice(n, size=k, replace=False))
        pointers.append(len(prev))
    prob = np.where(rng.random(len(prev)) < 0.1, 0.0, 0.5)  # ties, and some -inf (zero) entries
    tm = TransitionModel(np.asarray(prev, dtype=np.uint32), np.asarray(pointers, dtype=np.uint32), prob)
    frames = 60
    dens = np.log(rng.random((frames, 3)))
    dens[5, 1] = np.nan  # madmom's log(1 - beat - downbeat) can be NaN
    dens[9, 2] = -np.inf
    dens[20:22] = 0.0  # ties everywhere

    class Om(ObservationModel):
        def __init__(self):
            super().__init__(rng.integers(0, 3, n).astype(np.uint32))

        def log_densities(self, observations):
            return dens

    om = Om()
    hmm = HiddenMarkovModel(tm, om)
    with np.errstate(all="ignore"):
        want_path, want_lp = hmm.viterbi(np.zeros(frames))
        got_path, got_lp = viterbi(hmm, np.zeros(frames))
    assert got_lp == want_lp
    assert np.array_equal(got_path, want_path)


@pytest.mark.parametrize("name", ["hungarian_dance_5.ogg", "mindless_cut.mp3"])
def test_job_descriptors_equal_describe_file(name):
    from supervisor_app.analysis.descriptors import (DESCRIPTORS, DESCRIPTORS_VERSION, SAMPLE_RATE_HZ,
                                                     describe_file)
    from supervisor_app.indexing.decode import DESCRIPTORS_RATE_HZ
    from supervisor_app.indexing.job import index_track_job
    from supervisor_app.indexing.plan import TrackPlan

    assert DESCRIPTORS_RATE_HZ == SAMPLE_RATE_HZ
    out = index_track_job(str(MUSIC / name), TrackPlan(yamnet=True, descriptors=True))
    rec = out["records"][DESCRIPTORS]
    assert rec["version"] == DESCRIPTORS_VERSION and rec["error"] is None
    assert rec["result"] == describe_file(MUSIC / name)
    assert "descriptors" in out["cpu_s"]


def test_index_catalog_stores_descriptors_from_the_job(tmp_path):
    import shutil

    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION, describe_file
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.pipeline import index_catalog

    shutil.copy(MUSIC / "hungarian_dance_5.ogg", tmp_path / "h.ogg")
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(tmp_path)
    rep = index_catalog(cat, algorithms=("olda",))
    assert rep.done == 1 and "descriptors" in rep.cpu_s  # computed by the job, not re-decoded afterwards
    t = cat.tracks()[0]
    assert cat.get_analysis(t.id, DESCRIPTORS, DESCRIPTORS_VERSION).result == describe_file(t.path)
    cat.close()


def _reference_forward(tm_states, tm_pointers, tm_log_p, om_pointers, dens, initial):
    """madmom 0.16.1's Viterbi recursion (hmm.pyx), transcribed loop for loop, in pure Python."""
    n_states = len(tm_pointers) - 1
    previous = initial.copy()
    bt = np.zeros((len(dens), n_states), dtype=np.int64)
    for frame in range(len(dens)):
        current = np.empty(n_states)
        for state in range(n_states):
            current[state] = -np.inf
            density = dens[frame, om_pointers[state]]
            for pointer in range(tm_pointers[state], tm_pointers[state + 1]):
                p = previous[tm_states[pointer]] + tm_log_p[pointer] + density
                if p > current[state]:
                    current[state] = p
                    bt[frame, state] = pointer - tm_pointers[state]
        previous = current
    return previous, bt


def test_forward_pass_equals_madmom_recursion_state_by_state():
    """Every state's value and back-pointer at every frame, with NaN densities in some frames (a NaN
    first entry must give -inf and let a later entry win, as in madmom's loop)."""
    from supervisor_app.analysis.fast_viterbi import _forward

    rng = np.random.default_rng(7)
    n = 30
    pointers, prev = [0], []
    for s in range(n):
        k = int(rng.integers(1, 4)) if s % 3 else 1
        prev += list(rng.choice(n, size=k, replace=False))
        pointers.append(len(prev))
    tm_states = np.asarray(prev, dtype=np.uint32)
    tm_pointers = np.asarray(pointers, dtype=np.uint32)
    with np.errstate(divide="ignore"):
        tm_log_p = np.log(np.where(rng.random(len(prev)) < 0.15, 0.0, 0.5))
    om_pointers = rng.integers(0, 4, n).astype(np.uint32)
    dens = np.log(rng.random((50, 4)))
    dens[rng.random((50, 4)) < 0.08] = np.nan
    initial = np.log(np.full(n, 1.0 / n))
    want_last, want_bt = _reference_forward(tm_states, tm_pointers, tm_log_p, om_pointers, dens, initial)
    multi = np.flatnonzero(np.diff(tm_pointers.astype(np.int64)) > 1).astype(np.int64)
    bt = np.empty((50, len(multi)), dtype=np.uint8)  # back-pointers of the states with a choice only
    got_last = _forward(tm_states, tm_pointers, tm_log_p, om_pointers, dens, initial, multi, bt)
    assert np.array_equal(got_last, want_last, equal_nan=True) and not np.isnan(got_last).any()
    assert np.array_equal(bt, want_bt[:, multi])
    single = np.setdiff1d(np.arange(n), multi)
    assert not want_bt[:, single].any()  # the others always take their row's one entry


def test_lstm_scan_equals_the_exact_recursion_to_float32_rounding():
    """The compiled recursion (rational tanh, vectorised gates) against the same LSTM in float64 with
    numpy's exp/tanh, on random weights of madmom's size (25 units), both directions."""
    from supervisor_app.analysis.madmom_fast import _lstm_scan

    rng = np.random.default_rng(3)
    n, h = 400, 25
    xw = (rng.standard_normal((n, 4 * h)) * 1.5).astype(np.float32)
    rec = (rng.standard_normal((h, 4 * h)) * 0.3).astype(np.float32)
    pi, pf, po = ((rng.standard_normal(h) * 0.3).astype(np.float32) for _ in range(3))

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    for reverse in (False, True):
        got = np.empty((n, h), np.float32)
        _lstm_scan(xw, rec, pi, pf, po, reverse, got)
        want = np.empty((n, h))
        prev, state = np.zeros(h), np.zeros(h)
        for t in (range(n - 1, -1, -1) if reverse else range(n)):
            r = xw[t].astype(np.float64) + prev @ rec
            i, f = sig(r[:h] + state * pi), sig(r[h:2 * h] + state * pf)
            state = np.tanh(r[2 * h:3 * h]) * i + state * f
            prev = np.tanh(state) * sig(r[3 * h:] + state * po)
            want[t] = prev
        assert np.abs(got - want).max() < 2e-5


def test_rational_tanh_is_within_float32_rounding():
    from supervisor_app.analysis.madmom_fast import _lstm_scan  # noqa: F401  (compiles the module's kernels)
    from numba import njit

    from supervisor_app.analysis import madmom_fast as mf

    @njit
    def both(x, t, s):
        for k in range(x.shape[0]):
            t[k] = mf._tanh32(x[k])
            s[k] = mf._sigmoid32(x[k])

    x = np.linspace(-30, 30, 200001).astype(np.float32)
    t, s = np.empty_like(x), np.empty_like(x)
    both(x, t, s)
    x64 = x.astype(np.float64)
    assert np.abs(t - np.tanh(x64)).max() < 5e-7
    assert np.abs(s - 1.0 / (1.0 + np.exp(-x64))).max() < 5e-7
    assert t.max() <= 1.0 and t.min() >= -1.0 and s.max() <= 1.0 and s.min() >= 0.0
