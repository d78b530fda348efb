"""A track's splice audibility and section energy at its bar lines, computed at index time.

``recommend`` re-plans its best candidates with their audio (:mod:`supervisor_app.edit.audibility`):
how audible each splice is, against the track's own bar lines, and which section carries the energy
peak. Both read the track's splice features only *at its bar lines*: the mean chroma / MFCC / level of
the ``WINDOW_S`` before and after each bar line (:class:`~supervisor_app.edit.audibility.SpliceTable`),
and the RMS and onset strength summed between bar lines (:meth:`~supervisor_app.edit.form.TrackForm.
_energy`). Decoding a finalist and computing its features cost about 0.8 s per track at recommendation
time, most of a cold ``recommend``. ``catalog index`` now keeps those few numbers per bar line instead:

* per bar line ``T[k]`` (the downbeats and the end of the file, as :class:`~supervisor_app.edit.form.
  TrackForm` builds them): the out side and the in side (12 chroma means, 12 MFCC means, the level in
  dB, the chroma norm), the very numbers ``SpliceTable`` computes from the features;
* the running sums of RMS² and onset strength at each bar line's energy frame (and the frame after),
  from which a section's loudness and onset density follow.

About 60 float64 per bar line (~50 KiB for a 4-minute track at 120 BPM; the frame features were
~1 MiB). :meth:`BarSplices.cost` equals ``splice_audibility(audio, sr, T[i], T[j])`` exactly (the same
operations on the same numbers); :meth:`BarSplices.section_energy` equals ``TrackForm._energy`` up to the
summation order of the means (float64 running sums instead of float32 pairwise means: relative
differences ~1e-7, the peak section the same but at exact ties).

A stored table is used only for the exact bar lines it was computed on (:meth:`BarSplices.matches`);
a splice off those bar lines raises :class:`OffGridSplice` so the caller decodes the audio instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from supervisor_app.edit.audibility import (FEATURES_SR, WINDOW_S, TrackFeatures, _side, _step, _window,
                                            track_features)

__all__ = ["BarSplices", "OffGridSplice", "BAR_SPLICES", "BAR_SPLICES_VERSION", "bar_times"]

BAR_SPLICES = "bar-splices"  # embeddings table: (n + 2, COLUMNS) float64 per track
BAR_SPLICES_VERSION = "1"
_SIDE = 26  # chroma 12, MFCC 12, level (dB), |chroma|
_E = 5  # energy frame index, C(rms²) at it and the next frame, C(onset) at it and the next frame
COLUMNS = 1 + 2 * _SIDE + _E  # T, out side, in side, energy
_TIME_TOL_S = 1e-9


class OffGridSplice(ValueError):
    """A splice or section off the bar lines a stored :class:`BarSplices` was computed on."""


def bar_times(duration_s: float, downbeats_s) -> np.ndarray | None:
    """The bar lines ``T`` of :meth:`supervisor_app.edit.form.TrackForm.build` (its downbeat filter, then the
    end of the file), or None when the track cannot be cut on bars (fewer than two downbeats)."""
    M = float(duration_s)
    db = np.unique(np.asarray(downbeats_s if downbeats_s is not None else [], float).ravel())
    db = db[np.isfinite(db) & (db >= 0) & (db < M)]
    if db.size < 2 or not (np.isfinite(M) and M > 0):
        return None
    return np.append(db, M)


@dataclass(frozen=True)
class BarSplices:
    """Splice sides and energy sums at a track's bar lines ``times_s`` (see the module docstring)."""

    times_s: np.ndarray  # (n + 1,) the bar lines T
    out_sides: np.ndarray  # (n + 1, 26): the window before each bar line
    in_sides: np.ndarray  # (n + 1, 26): the window after it
    energy: np.ndarray  # (n + 1, 5)
    n_energy_frames: int
    energy_hop_s: float
    sr: int = FEATURES_SR  # the rate the features were computed at (TrackForm's ``sr``)

    # --- building --------------------------------------------------------------------------------
    @classmethod
    def from_features(cls, feats: TrackFeatures, times_s) -> "BarSplices":
        """The table of ``feats`` (features at :data:`FEATURES_SR`) at the bar lines ``times_s``."""
        T = np.asarray(times_s, dtype=np.float64).ravel()
        outs = np.empty((T.size, _SIDE))
        ins = np.empty((T.size, _SIDE))
        for k, t in enumerate(T):
            for row, sl in ((outs, _window(feats, t - WINDOW_S, t)), (ins, _window(feats, t, t + WINDOW_S))):
                c, m, lev = _side(feats, sl)
                row[k, :12], row[k, 12:24], row[k, 24], row[k, 25] = c, m, lev, float(np.linalg.norm(c))
        rms = np.asarray(feats.energy_rms, dtype=np.float64)
        onset = np.asarray(feats.energy_onset, dtype=np.float64)
        N = int(rms.shape[0])
        if onset.shape[0] != N:
            raise ValueError("the energy frames of the features disagree in length")
        hop = max(1, int(round(512 * FEATURES_SR / 22050)))  # as TrackForm._energy
        fr = hop / FEATURES_SR
        c2 = np.concatenate([[0.0], np.cumsum(rms * rms)])
        co = np.concatenate([[0.0], np.cumsum(onset)])
        energy = np.empty((T.size, _E))
        for k, t in enumerate(T):
            i = int(t / fr)
            a, b = min(max(i, 0), N), min(max(i + 1, 0), N)
            energy[k] = (i, c2[a], c2[b], co[a], co[b])
        return cls(T, outs, ins, energy, N, fr)

    @classmethod
    def of_audio(cls, audio: np.ndarray, sr: int, duration_s: float, downbeats_s) -> "BarSplices | None":
        """The table of decoded mono ``audio`` at the bar lines of ``downbeats_s`` (None: no bar grid)."""
        T = bar_times(duration_s, downbeats_s)
        if T is None:
            return None
        if int(sr) != FEATURES_SR:
            raise ValueError(f"bar splices are computed at {FEATURES_SR} Hz, not {sr}")
        return cls.from_features(track_features(audio, FEATURES_SR), T)

    # --- storage ---------------------------------------------------------------------------------
    def to_array(self) -> np.ndarray:
        head = np.zeros((1, COLUMNS))
        head[0, :3] = (self.n_energy_frames, self.energy_hop_s, self.sr)
        body = np.column_stack([self.times_s, self.out_sides, self.in_sides, self.energy])
        return np.ascontiguousarray(np.vstack([head, body]), dtype=np.float64)

    @classmethod
    def from_array(cls, arr) -> "BarSplices":
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != COLUMNS or a.shape[0] < 3:
            raise ValueError(f"a bar-splices table has {COLUMNS} columns and at least 3 rows, not {a.shape}")
        head, body = a[0], a[1:]
        s = 1 + _SIDE
        return cls(body[:, 0].copy(), body[:, 1:s].copy(), body[:, s:s + _SIDE].copy(), body[:, s + _SIDE:].copy(),
                   int(head[0]), float(head[1]), int(head[2]))

    # --- reading ---------------------------------------------------------------------------------
    def matches(self, times_s) -> bool:
        """True when ``times_s`` are exactly the bar lines this table was computed on."""
        T = np.asarray(times_s, dtype=np.float64).ravel()
        return T.shape == self.times_s.shape and bool(np.array_equal(T, self.times_s))

    def index_of(self, t_s: float) -> int:
        """The bar line at ``t_s`` (raises :class:`OffGridSplice` when none is)."""
        k = int(np.searchsorted(self.times_s, float(t_s) - _TIME_TOL_S))
        if k < self.times_s.size and abs(self.times_s[k] - float(t_s)) <= _TIME_TOL_S:
            return k
        raise OffGridSplice(f"{float(t_s):.3f} s is not one of the track's bar lines")

    def _side(self, k: int, out: bool) -> tuple:
        r = (self.out_sides if out else self.in_sides)[int(k)]
        return r[:12], r[12:24], float(r[24]), float(r[25])

    def _sides(self, out: bool) -> list:
        """:meth:`_side` of every bar line, built once per table (a planned track asks for hundreds of
        splices among its bar lines: the same views and numbers, without slicing them per splice)."""
        name = "_out_memo" if out else "_in_memo"
        memo = self.__dict__.get(name)
        if memo is None:
            arr = self.out_sides if out else self.in_sides
            memo = [(r[:12], r[12:24], float(r[24]), float(r[25])) for r in arr]
            object.__setattr__(self, name, memo)
        return memo

    def cost(self, i_out: int, i_in: int) -> float:
        """``splice_audibility`` of the jump from bar line ``i_out`` to bar line ``i_in`` (the same
        interface as :class:`~supervisor_app.edit.audibility.SpliceTable`)."""
        return _step(self._sides(True)[int(i_out)], self._sides(False)[int(i_in)])

    def cost_at(self, out_s: float, in_s: float) -> float:
        """The same, by times (which must be bar lines)."""
        return self.cost(self.index_of(out_s), self.index_of(in_s))

    def section_energy(self, bounds_idx) -> np.ndarray:
        """``TrackForm._energy`` of the sections between the bar-line indices ``bounds_idx`` (starts and
        the end): 0.5 x (z-score of the loudness + z-score of the onset density)."""
        b = np.asarray(bounds_idx, dtype=int).ravel()
        E, N = self.energy, self.n_energy_frames
        loud, dens = [], []
        for s, e in zip(b[:-1], b[1:]):
            i, j = int(E[s, 0]), int(E[e, 0])
            lo = (E[s, 1], E[s, 3])  # the running sums (RMS², onset) at the section's first frame
            if j > i:  # frames [i, j)
                hi, n = (E[e, 1], E[e, 3]), min(j, N) - min(i, N)
            else:  # TrackForm._energy's one-frame minimum: [i, i + 1)
                hi, n = (E[s, 2], E[s, 4]), min(i + 1, N) - min(i, N)
            loud.append(20 * np.log10(max(float(np.sqrt((hi[0] - lo[0]) / n)) if n > 0 else 0.0, 1e-6)))
            dens.append(float((hi[1] - lo[1]) / n) if n > 0 else 0.0)

        def z(v):
            v = np.asarray(v, float)
            s = v.std()
            return (v - v.mean()) / s if s > 1e-9 else np.zeros_like(v)

        return 0.5 * (z(loud) + z(dens))
