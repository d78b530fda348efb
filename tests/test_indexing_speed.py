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
    from supervisor_app.indexing.pipeline import DESCRIPTORS_RATE_HZ, TrackPlan, index_track_job

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
