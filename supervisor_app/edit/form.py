"""Form-aware edit planner: cut a track to a picture the way a music editor would.

The edit is a short list of *blocks* of the track, each from one bar line to another, laid end to end
under the picture at speed 1 (slicing only), covering ``[0, video_duration_s]`` exactly:

* **Start** where music starts: the track's own beginning (music time 0, its lead-in included), or, for
  a picture shorter than the rest of the track (``late start``), the start of a section (an MSAF
  boundary snapped to the nearest downbeat); the reason says which.
* **End** where music ends: on the track's real ending (the picture ends between the last downbeat and
  the end of the file: the final chord is heard), or on a section end with a *button* (the picture ends
  within one beat of the section's last bar line) or a fade of at most ``FADE_MAX_S`` that the reason
  states. A phrase end (a 4-bar unit inside a section) with a fade is the next best; cutting mid-phrase
  is the last resort and the notes say so.
* **Shorter picture than music**: whole phrases or sections are dropped (4-bar units from a section
  start; section boundaries preferred), keeping the intro (the first block starts at the track's start)
  and the ending.
* **Longer picture than music**: whole sections (or units of at least ``MIN_REPEAT_BARS`` bars) are
  repeated, in the track's order (the edit jumps back from a later bar line to an earlier one and plays
  on), never the same fragment more than twice in a row; when many repetitions are needed two different
  bodies alternate.
* **Splices** are on bar lines (downbeats). With the track's audio, every splice is scored by
  :func:`supervisor_app.edit.audibility.splice_audibility` against the track's own bar lines
  (:func:`~supervisor_app.edit.audibility.natural_audibility`); a splice above the 90th percentile of
  those is *clearly audible*: plans without one are preferred, and when every plan has one the excerpt's
  reason says so. Without audio a structural proxy is used (a splice between section boundaries is
  smoother than one inside a section).
* **Sync points** (video times that must get a downbeat): the head can start up to a bar early (a
  pickup, faded in) so that a downbeat lands on the first point; a point still missed gets a hit-point
  splice (cut mid-bar on it, the incoming block on a downbeat), as in :func:`~supervisor_app.edit.edl.build_edit`.
* **Climax** (``picture_climax_s``): the track's energy peak (the section with the highest loudness +
  onset density, from the audio) should start near it.

All candidate plans of these shapes whose length lands the ending inside its window are enumerated
(lengths are solved for, not searched); each gets a cost (:data:`WEIGHTS`), the best few are
evaluated in detail (audibility, co-occurrence of the music's events with the picture cuts) and the best
one becomes the :class:`~supervisor_app.edit.edl.Edit` (``Edit.plan`` holds its numbers, the excerpts'
reasons its plain-language description). Times are seconds; bars are counted in downbeats.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence, TypeGuard

import numpy as np

from supervisor_app.infra.errors import AnalysisError, UsageError

SYNC_EDGE_S = 0.5  # sync points must lie this far inside the picture (its first and last frames are the edit's own)
from supervisor_app.edit.edl import EDGE_EPS_S, SYNC_LANDING_S, Edit, Excerpt

if TYPE_CHECKING:
    from supervisor_app.edit.bar_splices import BarSplices

__all__ = ["TrackForm", "plan_edit", "EditStats", "describe_edit", "fmt_time", "FADE_MAX_S", "MIN_REPEAT_BARS", "run_length",
           "PHRASE_BARS", "WEIGHTS"]

PHRASE_BARS = 4  # a phrase: the unit dropped or kept inside a section
MIN_REPEAT_BARS = 8  # a repeated block is at least this long, or whole sections
MIN_SECTION_BARS = 2  # shorter MSAF sections are merged into the previous one
FADE_MAX_S = 2.0  # the longest fade-out an ending may use
BUTTON_FADE_S = 0.15  # fade on a "button" ending (the last hit, cut within a beat)
_EPS = 1e-6
_MAX_CANDIDATES = 20000
_DETAILED = 24  # plans evaluated in detail (audibility, co-occurrence with the cuts)
_PRESELECT = 400  # plans kept by their structural pre-score for the full structural cost
_AUDITIONED = 400  # plans whose splices are listened to (with the audio)

# plan costs (dimensionless; lower is better). Structure first: a repeat costs more than a drop, a drop
# more than nothing; an ending mid-phrase costs more than anything but a clearly audible splice.
WEIGHTS = {
    "splice": 0.10,  # per splice
    "drop": 0.05,  # per dropped passage (on top of its splice)
    "repeat": 0.30,  # per jump back (a repetition)
    "repeat_share": 1.00,  # times the share of the picture under repeated music
    "short_block": 0.05,  # per block shorter than 8 bars
    "late_start": 0.15,  # the edit does not start at the track's start
    "pickup": 0.05,  # the music enters mid-bar (a pickup for a sync point)
    "inner_splice": 0.15,  # per splice end inside a section (no audio: the structural audibility proxy)
    "audible": 0.60,  # per unit of splice audibility above the track's median bar line (capped at 3)
    "clearly_audible": 0.50,  # per splice above the 90th percentile of the track's bar lines
    "climax": 0.40,  # times min(1, |energy peak - picture climax| / 8 s)
    "sync_miss": 0.30,  # per sync point that needs a hit-point splice
    "cooccurrence": 0.50,  # minus this times the raw co-occurrence S with the picture cuts
}
JOINT_COST = {"phrase": 0.05, "bar": 0.20}  # per splice end on a phrase bar line / any other bar line
ENDING_COST = {"track ending": 0.0, "section end": 0.10, "section fade": 0.20, "phrase end": 0.30,
               "phrase fade": 0.45, "mid-phrase": 1.00}


def fmt_time(s: float) -> str:
    """``m:ss.s`` for a time in seconds."""
    s = max(0.0, float(s))
    m = int(s // 60)
    return f"{m}:{s - 60 * m:04.1f}"


# ================================================================================================
def _is_bar_splices(audio) -> "TypeGuard[BarSplices]":
    """True when a form's ``audio`` is a stored :class:`supervisor_app.edit.bar_splices.BarSplices` table."""
    from supervisor_app.edit.bar_splices import BarSplices

    return isinstance(audio, BarSplices)


@dataclass(eq=False)
class TrackForm:
    """A track's form: bar lines, sections (downbeat indices), and, with audio, section energy and the
    audibility baseline. Build it with :meth:`build`. ``T[k]`` is the music time of bar line ``k``
    (``T[n] = duration_s``: the end of the file)."""

    duration_s: float
    downbeats_s: np.ndarray
    section_idx: np.ndarray  # downbeat index where each section starts (the first is 0)
    section_energy: np.ndarray | None = None  # per section, z-score of loudness + onset density
    audio: np.ndarray | None = field(default=None, repr=False)
    sr: int | None = None
    _natural: np.ndarray | None = field(default=None, repr=False)
    _splice_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, duration_s: float, downbeats_s: Sequence[float], boundaries_s: Sequence[float],
              audio: np.ndarray | None = None, sr: int | None = None) -> "TrackForm":
        M = float(duration_s)
        if not (math.isfinite(M) and M > 0):
            raise UsageError("The track duration must be a positive number of seconds.")
        db = np.unique(np.asarray(downbeats_s if downbeats_s is not None else [], float).ravel())
        db = db[np.isfinite(db) & (db >= 0) & (db < M)]
        if db.size < 2:
            raise AnalysisError("The track cannot be cut on bars: fewer than two downbeats were found in it.")
        n = db.size
        idx = set()
        for b in np.asarray(boundaries_s if boundaries_s is not None else [], float).ravel():
            if EDGE_EPS_S < b < M - EDGE_EPS_S:
                k = int(np.argmin(np.abs(db - b)))
                if 0 < k < n:
                    idx.add(k)
        starts = [0]
        for k in sorted(idx):
            if k - starts[-1] >= MIN_SECTION_BARS:
                starts.append(k)
        while len(starts) > 1 and n - starts[-1] < MIN_SECTION_BARS:
            starts.pop()
        form = cls(M, db, np.array(starts, dtype=int))
        if audio is not None:
            if sr is None:
                raise UsageError("The track's audio needs its sample rate.")
            form.audio, form.sr = audio, int(sr)
            if _is_bar_splices(audio) and not audio.matches(form.T):
                from supervisor_app.edit.bar_splices import OffGridSplice

                raise OffGridSplice("the stored bar splices were computed on other bar lines")
            form.section_energy = form._energy()
        return form

    # --- geometry -----------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.downbeats_s.size)

    @property
    def T(self) -> np.ndarray:
        t = getattr(self, "_T", None)
        if t is None:
            t = np.append(self.downbeats_s, self.duration_s)
            object.__setattr__(self, "_T", t)
        return t

    @property
    def bar_s(self) -> float:
        b = getattr(self, "_bar", None)
        if b is None:
            b = float(np.median(np.diff(self.downbeats_s)))
            object.__setattr__(self, "_bar", b)
        return b

    @property
    def beat_s(self) -> float:
        return self.bar_s / 4.0

    @property
    def d_last(self) -> float:
        return float(self.downbeats_s[-1])

    @property
    def ring_s(self) -> float:
        """From the last downbeat to the end of the file (the final chord and its ring-out)."""
        return self.duration_s - self.d_last

    @property
    def section_bounds(self) -> np.ndarray:
        """Section starts and the end index ``n``."""
        return np.append(self.section_idx, self.n)

    def section_of(self, k: int) -> int:
        return int(np.searchsorted(self.section_idx, k, side="right") - 1)

    def is_section_bound(self, k: int) -> bool:
        return bool(np.any(self.section_bounds == k))

    def joints(self) -> np.ndarray:
        """Bar lines where a block may start or end: section starts, every ``PHRASE_BARS`` bars inside a
        section, and the end of the file (index ``n``)."""
        out: set[int] = set()
        sb = self.section_bounds
        for a, b in zip(sb[:-1], sb[1:]):
            out.update(range(int(a), int(b), PHRASE_BARS))
        out.add(self.n)
        return np.array(sorted(out), dtype=int)

    def peak_section(self) -> int | None:
        if self.section_energy is None or self.section_energy.size == 0:
            return None
        return int(np.argmax(self.section_energy))

    # --- audio --------------------------------------------------------------------------------------
    def _energy(self) -> np.ndarray:
        import librosa

        from supervisor_app.edit.audibility import TrackFeatures, _mono

        if _is_bar_splices(self.audio):  # stored at index time: the sums at the bar lines
            return self.audio.section_energy(self.section_bounds)
        sr = int(self.sr)
        hop = max(1, int(round(512 * sr / 22050)))
        if isinstance(self.audio, TrackFeatures):  # stored features: the same frames without the audio
            rms, onset = self.audio.energy_rms, self.audio.energy_onset
        else:
            y = _mono(self.audio)
            rms = librosa.feature.rms(y=y, hop_length=hop)[0]
            onset = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
        fr = hop / sr
        sb = self.T[self.section_bounds]
        loud, dens = [], []
        for a, b in zip(sb[:-1], sb[1:]):
            i, j = int(a / fr), max(int(a / fr) + 1, int(b / fr))
            r = rms[i:j]
            loud.append(20 * np.log10(max(float(np.sqrt(np.mean(r ** 2))) if r.size else 0.0, 1e-6)))
            o = onset[i:j]
            dens.append(float(o.mean()) if o.size else 0.0)

        def z(v):
            v = np.asarray(v, float)
            s = v.std()
            return (v - v.mean()) / s if s > 1e-9 else np.zeros_like(v)

        return 0.5 * (z(loud) + z(dens))

    def natural_costs(self) -> np.ndarray | None:
        """Audibility of the track's own interior bar lines (the baseline), or None without audio."""
        if self.audio is None:
            return None
        if self._natural is None:
            tab = self._splices()  # natural_audibility at the interior downbeats, from the shared window table
            inner = range(1, self.n) if self.n > 1 else range(self.n)
            self._natural = np.array([tab.cost(k, k) for k in inner], dtype=float)
        return self._natural

    def _splices(self):
        """The bar lines' splice table (:class:`supervisor_app.edit.audibility.SpliceTable` over ``T``)."""
        tab = getattr(self, "_splice_table", None)
        if tab is None and _is_bar_splices(self.audio):
            tab = self.audio  # the same sides, stored at index time (build checked its bar lines)
            object.__setattr__(self, "_splice_table", tab)  # asked for at every splice a plan is listened to
        elif tab is None:
            from supervisor_app.edit.audibility import SpliceTable

            tab = SpliceTable(self.audio, int(self.sr), self.T)
            object.__setattr__(self, "_splice_table", tab)
        return tab

    def splice_cost(self, k_out: int, k_in: int) -> float | None:
        """Audibility of a splice from bar line ``k_out`` to ``k_in`` (None without audio): equal to
        ``splice_audibility(audio, sr, T[k_out], T[k_in])``."""
        if self.audio is None:
            return None
        key = (int(k_out), int(k_in))
        c = self._splice_cache.get(key)
        if c is None:
            c = self._splice_cache[key] = self._splices().cost(*key)
        return c

    def audibility_levels(self) -> tuple[float, float] | None:
        """(median, 90th percentile) of the natural bar-line costs."""
        nat = self.natural_costs()
        if nat is None or nat.size == 0:
            return None
        return float(np.median(nat)), float(np.percentile(nat, 90))


# ================================================================================================
@dataclass
class _Cand:
    blocks: tuple  # ((k_in, k_out), ...): bar-line indices; k_out may be n (end of the file)
    pickup_s: float  # the first block starts this long before its bar line (music in = T[k_in] - pickup)
    family: str
    start_kind: str = "start"  # 'start' | 'late' | 'backtime' | 'sync' (see _Planner._starts)
    cost: float = 0.0
    ending: str = ""
    end_music_s: float = 0.0
    fade_out_s: float = 0.0
    parts: dict = field(default_factory=dict)
    lay: list | None = field(default=None, repr=False, compare=False)  # _Planner._layout, once computed


def run_length(spans: Sequence[tuple[float, float]], bar_s: float) -> int:
    """Longest run of the same fragment played in a row, over music spans ``(in_s, out_s)`` in play order.
    A span that is the previous one's tail (same out, starting at or after its in), or that starts within
    a bar of where the previous one started and is about as long (>= 60 %), repeats it: a run of 2; each
    further repetition of the same kind adds one."""
    run = best = 1
    for k in range(1, len(spans)):
        (a0, a1), (b0, b1) = spans[k - 1], spans[k]
        la, lb = a1 - a0, b1 - b0
        same_in = abs(a0 - b0) < bar_s and b0 < a1 and min(la, lb) >= 0.6 * max(la, lb)
        tail = abs(a1 - b1) < 0.05 and b0 >= a0 - 0.05
        if same_in and run >= 2:
            run += 1
        elif same_in or tail:
            run = 2
        else:
            run = 1
        best = max(best, run)
    return best


@dataclass(frozen=True)
class _Tables:
    """What the planner needs of a track's bar grid alone (the same for every picture): joints, section
    bounds, joint costs, and the passages that may be dropped or repeated, each as ``(lengths_s, a, b)``
    sorted by (length, a, b)."""

    J: np.ndarray
    phrase: frozenset
    sb: frozenset
    jc: list
    jc_arr: np.ndarray
    ends: list
    drops: tuple
    drops_p: tuple
    reps: tuple
    reps_p: tuple
    min_gap_s: float  # the shortest distance between consecutive bar lines of T
    key: tuple = ()  # the grid's numbers (T and the section starts), the cache key


_TABLES: "OrderedDict[tuple, _Tables]" = OrderedDict()
_TABLES_SIZE = 64
# generate()'s plans by (grid, picture, options): recommend plans a finalist again with its splice features,
# which change the costs, not the plans
_GENERATED: "OrderedDict[tuple, tuple]" = OrderedDict()
_GENERATED_SIZE = 32
_tables_lock = threading.Lock()


def _tables(form: TrackForm) -> _Tables:
    """The :class:`_Tables` of ``form``, built once per bar grid (kept on the form and in a small cache by
    the grid's numbers: a track is planned against many pictures, each time with a new ``TrackForm``)."""
    tb = getattr(form, "_tables", None)
    if tb is not None:
        return tb
    T = form.T
    key = (T.tobytes(), np.asarray(form.section_idx, dtype=np.int64).tobytes())
    with _tables_lock:
        tb = _TABLES.get(key)
        if tb is not None:
            _TABLES.move_to_end(key)
    if tb is None:
        tb = _build_tables(form, key)
        with _tables_lock:
            _TABLES[key] = tb
            while len(_TABLES) > _TABLES_SIZE:
                _TABLES.popitem(last=False)
    object.__setattr__(form, "_tables", tb)
    return tb


def _build_tables(form: TrackForm, key: tuple = ()) -> _Tables:
    T, n = form.T, form.n
    J = form.joints()
    phrase = frozenset(int(j) for j in J)
    sb = frozenset(int(x) for x in form.section_bounds)
    jc = [0.0 if k in sb else (JOINT_COST["phrase"] if k in phrase else JOINT_COST["bar"]) for k in range(n + 1)]
    in_ph = np.array([k in phrase for k in range(n + 1)], dtype=bool)
    in_sb = np.array([k in sb for k in range(n + 1)], dtype=bool)
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = a.ravel(), b.ravel()

    def table(mask):
        """The passages ``mask`` selects sorted by (length, a, b), and the phrase-bounded ones among them."""
        aa, bb = a[mask], b[mask]
        ln = T[bb] - T[aa]
        # as sorted((length, a, b)): (a, b) are already in that order (meshgrid 'ij', raveled), so a stable
        # sort by length alone gives np.lexsort((bb, aa, ln))'s order (tests/test_form_planner_exact.py)
        order = np.argsort(ln, kind="stable")
        ln, aa, bb = ln[order], aa[order], bb[order]
        ph = np.flatnonzero(in_ph[aa] & in_ph[bb])  # a subsequence of a sorted table is sorted the same way
        lp, ap, bp = ln[ph], aa[ph], bb[ph]
        return (ln, aa, bb), (lp, ap, bp)

    # drops [a, b): at least a phrase long; repeats [a, b): whole sections or >= MIN_REPEAT_BARS bars
    drop = (a >= 1) & (b - a >= PHRASE_BARS)
    rep = (b >= 1) & (b > a) & ((in_sb[a] & in_sb[b]) | (b - a >= MIN_REPEAT_BARS))
    drops, drops_p = table(drop)
    reps, reps_p = table(rep)
    return _Tables(J, phrase, sb, jc, np.array(jc, dtype=float), sorted(set(int(j) for j in J if j > 0)),
                   drops, drops_p, reps, reps_p, float(np.min(np.diff(T))), key)


class _Planner:
    def __init__(self, D: float, cuts: np.ndarray, form: TrackForm, sync: list[float], climax: float | None,
                 tol: float, allow_late_start: bool, prefer_start_s: float | None, forced_start: int | None = None):
        self.D, self.cuts, self.f, self.sync, self.climax, self.tol = D, cuts, form, sync, climax, tol
        self.allow_late = allow_late_start
        self.prefer_start_s = prefer_start_s
        self.forced = forced_start  # bar line the music must start on (the rest of the picture after a hit point)
        f = form
        self.T = f.T
        self.Tl = f.T.tolist()  # the same numbers as Python floats (faster scalar arithmetic)
        self.n = f.n
        self.beat = f.beat_s
        self.ring_min = min(0.5 * self.beat, 0.5 * f.ring_s)
        self.tb = _tables(f)
        self.J = self.tb.J
        self.phrase = self.tb.phrase
        self.sb = self.tb.sb
        self._jc = self.tb.jc
        self.levels = f.audibility_levels()
        self._curve: np.ndarray | None = None  # the picture cuts' curve (_cooccurrence)
        self._mb = np.zeros(0)

    # --- candidate generation -------------------------------------------------------------------------
    def _x_window(self, o: int) -> tuple[float, float]:
        """Allowed ``L - D`` (music cut off after the picture's end) for a plan whose last block ends at o."""
        if o == self.n:
            return 0.0, max(0.0, self.f.ring_s - self.ring_min)
        return -self.beat, FADE_MAX_S

    def _starts(self) -> list[tuple[int, float, str]]:
        """(bar line, pickup s, kind) of each way to start: 'start' (the track's start), 'late' (a section
        start), 'backtime' (a bar of the first section, so that the track's ending lands), 'lead-in' (up to
        8 bars before a section, so that the section arrives on a picture cut), 'sync' (a pickup that lands
        a downbeat on the first sync point)."""
        T = self.T
        if self.forced is not None:
            return [(int(self.forced), 0.0, "hit")]
        out = [(0, float(T[0]), "start")]  # the track's start: its lead-in before the first downbeat plays
        rest = self.f.duration_s
        if self.allow_late:
            for k in self.f.section_idx[1:]:
                if self.D <= rest - T[k] + _EPS:  # late start only when the rest covers the picture
                    out.append((int(k), 0.0, "late"))
        if self.allow_late and self.D < self.f.duration_s:
            # backtimed: start a little into the track (on a bar line of the first section, entering up to a
            # bar early or 3/4 of a bar late, faded in) so that the track's own ending lands on the last frame
            xlo, xhi = self._x_window(self.n)
            first_end = int(self.f.section_bounds[1])
            for k in range(1, first_end):
                pu = self.D + 0.5 * (xlo + xhi) - (rest - T[k])
                bar = self.f.bar_s
                if -0.75 * bar <= pu <= float(T[k] - T[k - 1]) + _EPS:
                    out.append((k, float(pu), "backtime"))
        if self.allow_late and self.cuts.size:
            # lead-in: start a few bars before a section so that the section arrives on a picture cut
            bar = self.f.bar_s
            near_cuts = self.cuts[self.cuts <= 8 * bar + _EPS][:6]
            for k in self.f.section_idx[1:]:
                for c in near_cuts:
                    j = int(np.argmin(np.abs((T[k] - T[:k]) - c)))
                    pu = c - (T[k] - T[j])  # > 0: enter before bar line j
                    if j > 0 and -0.75 * bar <= pu <= float(T[j] - T[j - 1]) and self.D <= rest - T[j] + _EPS \
                            and T[k] - T[j] <= 8 * bar + _EPS:
                        out.append((j, float(pu), "lead-in"))
        if self.sync:
            # pickups that put a downbeat on the first sync point (the head may start up to a bar early)
            p = self.sync[0]
            extra = []
            for k, pu, _ in out:
                base = T[k] - pu
                vd = T[k:self.n] - base  # video times of the first block's bar lines
                if not vd.size:
                    continue
                j = int(np.argmin(np.abs(vd - p)))
                delta = (T[k + j] - base) - p  # > 0: the downbeat comes after p -> start later
                new_pu = pu - delta
                max_pu = float(T[0]) if k == 0 else float(T[k] - T[k - 1])
                if abs(delta) > SYNC_LANDING_S:
                    bar = self.f.bar_s
                    for pu2 in (new_pu, new_pu + bar, new_pu - bar):
                        # up to a bar early (a pickup) or up to 3/4 of a bar late (entering inside the bar)
                        if -0.75 * bar <= pu2 <= max_pu + _EPS:
                            extra.append((k, float(pu2), "sync"))
                            break
            out += extra
        seen, uniq = set(), []
        for k, pu, kind in out:
            key = (int(k), round(pu, 3))
            if key not in seen:
                seen.add(key)
                uniq.append((k, pu, kind))
        return uniq

    def _late_cost(self, s: int) -> float:
        """Cost of starting at bar line ``s`` > 0; waived for the section the content alignment asks for
        (``prefer_start_s``, within a bar)."""
        if self.prefer_start_s is not None and abs(self.T[s] - self.prefer_start_s) <= self.f.bar_s + _EPS:
            return 0.0
        return WEIGHTS["late_start"] + self.joint_cost(s)

    def joint_cost(self, k: int) -> float:
        """Structural cost of a splice end at bar line ``k``: 0 on a section boundary, a little on a phrase
        bar line (every ``PHRASE_BARS`` bars from a section start), more on any other bar line."""
        return self._jc[k]

    def generate(self) -> list[_Cand]:
        """:meth:`_generate`, computed once per (bar grid, picture length and cuts, sync points, start options)."""
        key = (self.tb.key, float(self.D), np.asarray(self.cuts, dtype=np.float64).tobytes(), tuple(self.sync),
               bool(self.allow_late), self.prefer_start_s, self.forced) if self.tb.key else None
        with _tables_lock:
            hit = _GENERATED.get(key) if key is not None else None
            if hit is not None:
                _GENERATED.move_to_end(key)
        if hit is None:
            hit = tuple(self._generate())
            if key is not None:
                with _tables_lock:
                    _GENERATED[key] = hit
                    while len(_GENERATED) > _GENERATED_SIZE:
                        _GENERATED.popitem(last=False)
        return [_Cand(b, pu, fam, start_kind=kind) for b, pu, fam, kind in hit]

    def _generate(self) -> list[tuple]:
        """Every plan of the allowed shapes whose length lands its ending inside the ending's window,
        pre-scored by structure; the best ``_PRESELECT`` of them are returned, each as ``(blocks, pickup_s,
        family, start_kind)``.

        The plans are visited in a fixed order (start, ending, then as is, drops, double drops, repeats,
        double repeats, each in the order of their lengths) and kept in a bounded heap by pre-score (ties:
        the earlier plan first): once the heap is full, a plan enters it only if its pre-score is below the
        worst kept one. The plans of one (start, ending) are scored together as arrays, and a group whose
        lowest possible pre-score cannot enter the heap is not built at all; the heap sees exactly the plans
        that would enter it, in the same order, so the same plans come out in the same order."""
        import heapq

        T, n, D = self.T, self.n, self.D
        W = WEIGHTS
        tb = self.tb
        jca = tb.jc_arr
        PB = PHRASE_BARS
        pool: list = []
        K = _PRESELECT
        INF = math.inf
        counter = 0
        push, replace = heapq.heappush, heapq.heapreplace

        def threshold() -> float:  # a plan enters the heap only with a pre-score below this
            return -pool[0][0] if len(pool) >= K else INF

        def add(blocks, pu, fam, pre):
            nonlocal counter
            if len(pool) < K:
                counter += 1
                push(pool, (-pre, counter, (pre, counter, blocks, pu, fam, kind)))
            elif -pool[0][0] > pre:
                counter += 1
                replace(pool, (-pre, counter, (pre, counter, blocks, pu, fam, kind)))

        def add_many(pre: np.ndarray, make, pu, fam):
            """Offer the plans ``make(i)`` with pre-scores ``pre[i]`` in order (only those that can enter)."""
            i, m = 0, pre.size
            while i < m and len(pool) < K:
                add(make(i), pu, fam, float(pre[i]))
                i += 1
            if i < m:
                nonlocal counter
                idx = np.flatnonzero(pre[i:] < -pool[0][0]) + i
                for j, p in zip(idx.tolist(), pre[idx].tolist()):
                    if -pool[0][0] > p:  # add(), inlined
                        counter += 1
                        replace(pool, (-p, counter, (p, counter, make(j), pu, fam, kind)))

        def ragged(lo_i: np.ndarray, hi_j: np.ndarray):
            """(outer, inner) index pairs of the ranges ``[lo_i[t], hi_j[t])``, in order."""
            cnt = np.maximum(hi_j - lo_i, 0)
            tot = int(cnt.sum())
            if not tot:
                return None, None, cnt
            outer = np.repeat(np.arange(cnt.size), cnt)
            inner = np.arange(tot) + np.repeat(lo_i - (np.cumsum(cnt) - cnt), cnt)
            return outer, inner, cnt

        d_len, d_a, d_b = tb.drops
        d_bend = d_b + np.minimum(PB, n - d_b)  # the ending may come this early after a drop ending at b
        dp_len, dp_a, dp_b = tb.drops_p
        dp_bend = dp_b + np.minimum(PB, n - dp_b)
        r_len, r_a, r_b = tb.reps
        rp_len, rp_a, rp_b = tb.reps_p
        # bisect_left / bisect_right on the sorted lengths: the same insertion points, without the tables as lists
        def bl(arr: np.ndarray, x) -> int:
            return int(arr.searchsorted(x, "left"))

        def br(arr: np.ndarray, x) -> int:
            return int(arr.searchsorted(x, "right"))

        c_drop2 = 2 * (W["splice"] + W["drop"])
        c_rep2 = 2 * (W["splice"] + W["repeat"])
        share = W["repeat_share"]
        per_end = [(o, self._x_window(o), self._end_cost(o)) for o in tb.ends]
        for s, pu, kind in self._starts():
            base = T[s] - pu
            head = (self._late_cost(s) if s > 0 and self.forced is None else 0.0) + \
                (W["pickup"] if abs(pu - (T[0] if s == 0 else 0.0)) > _EPS and self.forced is None else 0.0)
            for o, (xlo, xhi), end_c in per_end:
                if o - s < min(PB, n - s):
                    continue
                L0 = T[o] - base
                lo, hi = D + xlo, D + xhi  # wanted plan length
                if lo - _EPS <= L0 <= hi + _EPS:
                    add(((s, o),), pu, "as is", head + end_c)
                if L0 > lo:  # shorten: drop passages of at least a phrase
                    hc = head + end_c
                    p0 = hc + W["splice"] + W["drop"]
                    if p0 < threshold():
                        i, j = bl(d_len, L0 - hi - _EPS), br(d_len, L0 - lo + _EPS)
                        if j > i:
                            # a - s >= PB, b < o and o - b >= min(PB, n - b), the last implying the second
                            sel = np.flatnonzero((d_a[i:j] >= s + PB) & (d_bend[i:j] <= o)) + i
                            if sel.size:
                                a_, b_ = d_a[sel], d_b[sel]
                                a, b = a_.tolist(), b_.tolist()
                                add_many((p0 + jca[a_]) + jca[b_], lambda t: ((s, a[t]), (b[t], o)), pu, "drop")
                    if s == 0:
                        p0 = hc + c_drop2
                        thr = threshold()
                        if p0 < thr:
                            P = br(dp_len, L0 - lo)  # first drops (d1 <= L0 - lo)
                            keep = np.flatnonzero(dp_a[:P] - s >= PB)
                            if keep.size:
                                a1, b1, d1 = dp_a[keep], dp_b[keep], dp_len[keep]
                                q1 = (p0 + jca[a1]) + jca[b1]
                                live = np.flatnonzero(q1 < thr)  # the others cannot enter, whatever follows
                                a1, b1, d1, q1 = a1[live], b1[live], d1[live], q1[live]
                                # the second drop (a2, b2) of a first one: a2 - b1 >= PB, b2 < o, o - b2 >= min(PB,
                                # n - b2), its length in [v_lo, v_hi] (the table's order: by length, a, b). Only the
                                # second drops that may precede the ending o (dp_bend <= o, the last two conditions)
                                # are paired, and only with the first drops that leave room for one: a2 >= b1 + PB
                                # and b2 < o bound its length by T[o] - T[b1 + PB] (float subtraction is monotone);
                                # the same pairs in the same order as pairing every length-matching drop (~20x fewer)
                                v_lo, v_hi = L0 - hi - d1 - _EPS, L0 - lo - d1 + _EPS
                                fit_o = np.flatnonzero(dp_bend <= o)
                                t1 = b1 + PB
                                room = np.flatnonzero((t1 < n) & (T[o] - T[np.minimum(t1, n)] >= v_lo))
                                f_len = dp_len[fit_o]
                                outer, inner, _ = ragged(np.searchsorted(f_len, v_lo[room], "left"),
                                                         np.searchsorted(f_len, v_hi[room], "right"))
                                if outer is not None:
                                    outer, inner = room[outer], fit_o[inner]
                                    a2, b2, bb1 = dp_a[inner], dp_b[inner], b1[outer]
                                    sel = np.flatnonzero(a2 - bb1 >= PB)
                                    if sel.size:
                                        oo = outer[sel]
                                        a2, b2 = a2[sel], b2[sel]
                                        pre = (q1[oo] + jca[a2]) + jca[b2]
                                        A1, B1, A2, B2 = a1[oo].tolist(), b1[oo].tolist(), a2.tolist(), b2.tolist()
                                        add_many(pre, lambda t: ((s, A1[t]), (B1[t], A2[t]), (B2[t], o)), pu, "drop")
                if L0 < hi and (s == 0 or self.forced is not None):  # lengthen: repeat, in the track's order
                    i, j = bl(r_len, lo - L0 - _EPS), br(r_len, hi - L0 + _EPS)
                    a, b = r_a[i:j], r_b[i:j]
                    sel = np.flatnonzero((a >= s) & (b <= o) & (b - s >= PB))
                    n_one = int(sel.size)
                    p0 = end_c + W["splice"] + W["repeat"]
                    if n_one and p0 < threshold():
                        rl = r_len[i:j][sel]
                        a, b = a[sel].tolist(), b[sel].tolist()
                        add_many(((p0 + share * rl / D) + jca[a]) + jca[b], lambda t: ((s, b[t]), (a[t], o)), pu,
                                 "repeat")
                    p0 = end_c + c_rep2
                    if n_one < 3 and p0 < threshold():  # two repeats only where one does not do
                        P = br(rp_len, hi - L0)  # the loop stops at the first r1 > hi - L0
                        ok1 = np.flatnonzero((rp_a[:P] >= s) & (rp_b[:P] - s >= PB))
                        if ok1.size:
                            a1, b1, r1 = rp_a[ok1], rp_b[ok1], rp_len[ok1]
                            # a second repeat lies inside [s, o] (a2 >= s, b2 <= o) and ends at or after the
                            # first one's end (b2 >= b1): only those are paired, with the first repeats that end
                            # by o; the pairs left out fail `good` below, so the same pairs come out, in the same
                            # order, and the same counts per first repeat (millions fewer tried on a picture)
                            fit_o = np.flatnonzero((r_a >= s) & (r_b <= o))
                            room = np.flatnonzero(b1 <= o)
                            f_len = r_len[fit_o]
                            outer, inner, _ = ragged(np.searchsorted(f_len, (lo - L0 - r1 - _EPS)[room], "left"),
                                                     np.searchsorted(f_len, (hi - L0 - r1 + _EPS)[room], "right"))
                            if outer is not None:
                                outer, inner = room[outer], fit_o[inner]
                                a2, b2 = r_a[inner], r_b[inner]
                                aa1, bb1 = a1[outer], b1[outer]
                                good = (a2 >= s) & (b2 >= bb1) & (b2 <= o) & ((a2 != aa1) | (b2 != bb1)) & \
                                    (b2 - aa1 >= PB)
                                # the loop over r1 stops once more than 400 plans of two repeats were found
                                per = np.bincount(outer[good], minlength=r1.size)
                                runs = (np.cumsum(per) - per) <= 400
                                sel = np.flatnonzero(good & runs[outer])
                                if sel.size:
                                    oo = outer[sel]
                                    a2, b2 = a2[sel], b2[sel]
                                    pre = (((p0 + share * (r1[oo] + r_len[inner[sel]]) / D) + jca[a1[oo]]) + jca[b1[oo]]
                                           + jca[a2]) + jca[b2]
                                    A1, B1, A2, B2 = a1[oo].tolist(), b1[oo].tolist(), a2.tolist(), b2.tolist()
                                    add_many(pre, lambda t: ((s, B1[t]), (A1[t], B2[t]), (A2[t], o)), pu, "repeat")
        # (blocks, pickup_s, family, start_kind) per plan: generate() makes the _Cand objects, once
        cands = [item[2:6] for _, _, item in pool]
        if not any(c[2] == "repeat" for c in cands) and (D > self.f.duration_s or self.forced is not None):
            self._alternating(cands, lambda bl, pu: cands.append((tuple(bl), pu, "repeat", "start")))
        Tl, bar = self.Tl, self.f.bar_s
        # plans without a repeat play blocks in the track's order, each after the previous one's end: on a
        # grid whose bar lines are more than 50 ms apart no block repeats (run_length's test), a run of 1
        forward_ok = tb.min_gap_s > 0.05
        return [c for c in cands if (forward_ok and c[2] != "repeat")
                or run_length([(Tl[a], Tl[b]) for a, b in c[0]], bar) <= 2]

    def _end_cost(self, o: int) -> float:
        if o == self.n:
            return ENDING_COST["track ending"]
        return ENDING_COST["section end"] if o in self.sb else ENDING_COST["phrase end"]

    def _alternating(self, cands, add) -> None:
        """Many repetitions: play to the end of a body (whole sections, or units of at least
        ``MIN_REPEAT_BARS`` bars), then jump back alternately to two of its starts, and finally jump back
        once more (to a section start or a bar line at least ``MIN_REPEAT_BARS`` before the body's end,
        whichever lands the ending) and play on to the ending. The same fragment is never heard more than
        twice in a row."""
        T, n, D = self.T, self.n, self.D
        secs = [int(k) for k in self.f.section_bounds]
        inner_secs = [k for k in secs[1:-1]]
        if len(inner_secs) < 2:
            extra = [int(j) for j in self.J if MIN_REPEAT_BARS <= j < n]
            step = max(1, len(extra) // 6)
            inner_secs = sorted(set(inner_secs + extra[::step]))
        s0 = 0 if self.forced is None else int(self.forced)
        pu = float(T[0]) if s0 == 0 else 0.0
        ends = sorted(set([n] + [k for k in secs if k > 0]))
        found = 0
        for b in [x for x in inner_secs if x - s0 >= PHRASE_BARS]:
            starts = sorted(set([k for k in secs if k < b] + [b - m * MIN_REPEAT_BARS for m in (1, 2)
                                                             if b - m * MIN_REPEAT_BARS >= 0]))
            last_ok = np.array([k for k in range(0, b) if k in self.sb or b - k >= MIN_REPEAT_BARS], dtype=int)
            if last_ok.size == 0:
                continue
            for i1 in starts:
                for i2 in starts:
                    if i2 == i1:
                        continue
                    for o in ends:
                        if o < b:
                            continue
                        xlo, xhi = self._x_window(o)
                        blocks = [(s0, b)]
                        L = T[b] - (T[s0] - pu)
                        for m in range(1, 400):
                            if L + T[o] - T[b] > D + xhi:
                                break
                            # the last jump back: any allowed start whose block lands the ending
                            need = T[o] - np.array(T[last_ok])
                            ok = (L + need >= D + xlo - _EPS) & (L + need <= D + xhi + _EPS)
                            prev = blocks[-1][0] if len(blocks) > 1 else None
                            for a in last_ok[ok]:
                                if o == b and prev is not None and int(a) == prev:
                                    continue
                                add(blocks + [(int(a), o)], pu)
                                found += 1
                                break
                            if ok.any():
                                break
                            a = (i1, i2)[(m - 1) % 2]
                            blocks.append((a, b))
                            L += T[b] - T[a]
                        if found >= 400:
                            return

    # --- evaluation ---------------------------------------------------------------------------------
    def _layout(self, c: _Cand) -> list[tuple[float, float, float, float]]:
        """(video_start, video_end, music_in, music_out) per block, the last one cut at the picture's end."""
        if c.lay is not None:
            return c.lay
        T, D = self.Tl, self.D
        out, v = [], 0.0
        for r, (a, b) in enumerate(c.blocks):
            m_in = T[a] - (c.pickup_s if r == 0 else 0.0)
            ln = T[b] - m_in
            if r == len(c.blocks) - 1 or v + ln >= D - _EPS:
                out.append((v, D, m_in, m_in + (D - v)))
                break
            out.append((v, v + ln, m_in, T[b]))
            v += ln
        c.lay = out
        return out

    def _ending(self, c: _Cand) -> None:
        f = self.f
        a, o = c.blocks[-1]
        lay = self._layout(c)
        e = lay[-1][3]
        c.end_music_s = float(e)
        if o == self.n:
            c.ending = "track ending"
            tail = f.duration_s - e
            c.fade_out_s = 0.0 if tail <= self.beat + _EPS else float(min(FADE_MAX_S, max(0.25, e - f.d_last)))
            return
        x = self.Tl[o] - e
        kind = "section" if o in self.sb else "phrase"
        if x <= 0.5 * self.beat + _EPS:
            c.ending = f"{kind} end"
            c.fade_out_s = float(min(self.beat, BUTTON_FADE_S + max(0.0, -x)))
        else:
            c.ending = f"{kind} fade"
            c.fade_out_s = float(min(FADE_MAX_S, max(1.0, x)))

    def _valid(self, c: _Cand) -> bool:
        """A replayed block plays at least ``MIN_REPEAT_BARS`` bars, or whole sections (the last one may
        stop inside its ending window)."""
        if c.family != "repeat":  # as is / drops: every block starts after the previous one ends, nothing replays
            return True
        lay = self._layout(c)
        db = self.f.downbeats_s
        half_bar = 0.5 * self.f.bar_s
        used: list[tuple[float, float]] = []
        for r, ((a, b), (v0, v1, m0, m1)) in enumerate(zip(c.blocks, lay)):
            ov = 0.0  # music of this block heard before (adding the zero overlaps changes nothing)
            for u0, u1 in used:
                x = min(m1, u1) - max(m0, u0)
                if x > 0.0:
                    ov += x
            if ov > half_bar:
                bars = int(np.sum((db >= m0 - 1e-6) & (db < m1 - 1e-6)))
                whole = a in self.sb and b in self.sb
                if bars < MIN_REPEAT_BARS and not whole:
                    return False
            used.append((m0, m1))
        return True

    def _quick_cost(self, c: _Cand) -> float:
        W = WEIGHTS
        T, D = self.T, self.D
        jc = self._jc
        self._ending(c)
        blocks = c.blocks
        parts = {}
        n_spl = len(blocks) - 1
        n_rep = 0
        for k in range(1, len(blocks)):
            if blocks[k][0] < blocks[k - 1][1]:
                n_rep += 1
        n_drop = n_spl - n_rep
        lay = self._layout(c)
        used: list[tuple[float, float]] = []
        rep_s = 0.0
        for v0, v1, m0, m1 in lay:
            for u0, u1 in used:
                x = min(m1, u1) - max(m0, u0)
                if x > 0.0:  # (adding max(0, x) = 0 changes nothing)
                    rep_s += x
            used.append((m0, m1))
        parts["splices"] = W["splice"] * n_spl
        parts["drops"] = W["drop"] * n_drop
        parts["repeats"] = W["repeat"] * n_rep + W["repeat_share"] * rep_s / D
        short = sum(1 for a, b in blocks[:-1] if b - a < MIN_REPEAT_BARS)
        parts["short_blocks"] = W["short_block"] * short
        parts["late_start"] = self._late_cost(blocks[0][0]) if blocks[0][0] > 0 and self.forced is None else 0.0
        pu_off = abs(c.pickup_s - (T[0] if blocks[0][0] == 0 else 0.0)) > _EPS
        parts["pickup"] = W["pickup"] if pu_off else 0.0
        parts["ending"] = ENDING_COST[c.ending]
        inner = 0
        joints = 0.0
        for k in range(1, len(blocks)):
            inner += (blocks[k - 1][1] not in self.sb) + (blocks[k][0] not in self.sb)
            joints += jc[blocks[k - 1][1]] + jc[blocks[k][0]]
        parts["joints"] = joints
        parts["inner_splices"] = W["inner_splice"] * inner if self.levels is None else 0.0
        if self.climax is not None:
            pk = self.f.peak_section()
            if pk is not None:
                m_pk = float(T[self.f.section_idx[pk]])
                vt = [v0 + (m_pk - m0) for v0, v1, m0, m1 in lay if m0 - _EPS <= m_pk < m1]
                dist = min((abs(v - self.climax) for v in vt), default=8.0)
                parts["climax"] = W["climax"] * min(1.0, dist / 8.0)
                c.parts["climax_music_s"] = m_pk
        if self.sync:
            db_v = self._video_downbeats(lay)
            miss = sum(1 for p in self.sync if db_v.size == 0 or np.min(np.abs(db_v - p)) > SYNC_LANDING_S)
            parts["sync_miss"] = W["sync_miss"] * miss
        c.parts.update(parts)
        c.parts.update(n_splices=n_spl, n_repeats=n_rep, n_drops=n_drop, repeated_s=rep_s)
        c.cost = float(sum(parts.values()))
        return c.cost

    def _video_downbeats(self, lay) -> np.ndarray:
        db = self.f.downbeats_s
        out = []
        for v0, v1, m0, m1 in lay:
            sel = db[(db >= m0 - _EPS) & (db < m1 + _EPS)]
            out.append(v0 + sel - m0)
        return np.concatenate(out) if out else np.zeros(0)

    def _audible_cost(self, c: _Cand) -> float:
        """Add the splices' audibility against the track's own bar lines (needs the audio)."""
        W = WEIGHTS
        if self.levels is None or "audible" in c.parts:
            return c.cost
        p50, p90 = self.levels
        spread = max(p90 - p50, 1e-3)
        costs, extra = [], 0.0
        for k in range(1, len(c.blocks)):
            sc = self.f.splice_cost(c.blocks[k - 1][1], c.blocks[k][0])
            costs.append(sc)
            extra += W["audible"] * min(3.0, max(0.0, sc - p50) / spread)
            if sc > p90:
                extra += W["clearly_audible"]
        c.parts["splice_audibility"] = costs
        c.parts["audible"] = extra
        c.cost += extra
        return c.cost

    def _detailed_cost(self, c: _Cand) -> float:
        W = WEIGHTS
        self._audible_cost(c)
        extra = 0.0
        if self.cuts.size:
            S = self._cooccurrence(self._to_edit(c, final=False))
            S = 0.0 if S != S else float(S)
            c.parts["cooccurrence_S"] = S
            extra -= W["cooccurrence"] * S
        c.cost += extra
        return c.cost

    def _cooccurrence(self, edit: Edit) -> float:
        """``sync_score(edit, cuts, None, downbeats, section starts, n_random=0).details["S"]``
        (:func:`supervisor_app.ranking.sync.sync_score`): the same numbers through the same functions,
        without the null distribution and the other statistics the planner does not use."""
        from supervisor_app.ranking.sync import RATE_HZ, SIGMA_FRAMES, cooccurrence_rows, cut_curve_from_times

        if self._curve is None:
            self._curve = cut_curve_from_times(np.asarray(self.cuts, float).ravel(), float(edit.video_duration_s), RATE_HZ)
            mb = np.asarray(self.T[self.f.section_idx[1:]], float).ravel()
            self._mb = mb[(mb > 0) & (mb < self.f.duration_s)]
        curve = self._curve

        def S(times):
            times = np.asarray(times, dtype=np.float64).ravel()
            if times.size == 0:
                return float("nan")
            return float(cooccurrence_rows(times, curve, RATE_HZ, SIGMA_FRAMES)[0])

        v_db = edit.music_to_video(np.asarray(self.f.downbeats_s, float))
        v_seg = np.unique(np.concatenate([edit.music_to_video(self._mb), edit.splice_times_s()]))
        vals = [v for v in (S(v_db), S(v_seg)) if not math.isnan(v)]
        return float(np.mean(vals)) if vals else float("nan")

    # --- output -------------------------------------------------------------------------------------
    def _to_edit(self, c: _Cand, final: bool = True) -> Edit:
        f, T = self.f, self.T
        lay = self._layout(c)
        exs: list[Excerpt] = []
        p50p90 = self.levels
        for r, ((a, b), (v0, v1, m0, m1)) in enumerate(zip(c.blocks, lay)):
            seg = f.section_of(a)
            cut = None
            if r > 0 and self.cuts.size:
                cc = float(self.cuts[np.argmin(np.abs(self.cuts - v0))])
                cut = cc if abs(cc - v0) <= self.tol + _EPS else None
            reason = self._reason(c, r, a, b, m0, v0) if final else ""
            if final and r > 0 and p50p90 is not None:
                sc = f.splice_cost(c.blocks[r - 1][1], a)
                if sc is not None and sc > p50p90[1]:
                    reason += (f"; this splice is audible (change {sc:.2f} above 90% of the track's own bar lines,"
                               f" {p50p90[1]:.2f}): no smoother plan fits the picture")
            exs.append(Excerpt(float(v0), float(v1), float(m0), float(m1), 0.0 if cut is None else float(v0 - cut),
                               reason, cut, seg))
        a0 = c.blocks[0][0]
        default = T[0] if a0 == 0 else 0.0
        pickup = 0.0 if abs(c.pickup_s - default) <= _EPS else float(-c.pickup_s)  # music in - its bar line
        return Edit(exs, self.D, f.duration_s, tuple(self.sync), self.tol, [], self._ending_label(c),
                    head_pickup_s=pickup, fade_out_s=float(c.fade_out_s))

    @staticmethod
    def _ending_label(c: _Cand) -> str:
        return {"track ending": "track ending", "section end": "section end", "section fade": "section end",
                "phrase end": "fade", "phrase fade": "fade"}.get(c.ending, "mid-phrase")

    def _reason(self, c: _Cand, r: int, a: int, b: int, m0: float, v0: float) -> str:
        f, T = self.f, self.T
        nb = len(c.blocks)
        sec = f.section_of(a)
        what = []
        if r == 0:
            lead = ("so that a downbeat lands on the sync point" if c.start_kind == "sync"
                    else "so that the track's own ending lands on the last frame")
            if c.start_kind == "hit":
                what.append(f"plays from {fmt_time(T[a])}")
            elif a == 0 and abs(c.pickup_s - T[0]) <= _EPS:
                what.append("plays from the start")
            elif a == 0 and c.pickup_s >= 0:
                what.append(f"plays from the start, entering {c.pickup_s:.2f}s before the first downbeat {lead}")
            elif a == 0:
                what.append(f"plays from the first bar, entering {-c.pickup_s:.2f}s after its downbeat (faded in) {lead}")
            else:
                if c.start_kind == "backtime":
                    what.append(f"backtimed: starts at bar {a + 1} ({fmt_time(T[a])}) of the first section, {lead}")
                elif c.start_kind == "lead-in":
                    nxt = int(self.f.section_idx[min(sec + 1, len(self.f.section_idx) - 1)])
                    what.append(f"late start: {nxt - a} bars before section {sec + 2} ({fmt_time(T[a])}), so that the "
                                f"section arrives on the picture cut at {fmt_time(T[nxt] - T[a] + c.pickup_s)}")
                else:
                    why = "the picture is shorter than the rest of the track and this section fits it best"
                    what.append(f"late start: section {sec + 1} at {fmt_time(T[a])} ({why})")
                if c.pickup_s > _EPS:
                    what.append(f"enters {c.pickup_s:.2f}s early (a pickup, faded in)" +
                                (" so that a downbeat lands on the sync point" if c.start_kind == "sync" else ""))
                elif c.pickup_s < -_EPS:
                    what.append(f"enters {-c.pickup_s:.2f}s into the bar (faded in)" +
                                (" so that a downbeat lands on the sync point" if c.start_kind == "sync" else ""))
        else:
            pa, pb = c.blocks[r - 1]
            unit = f"section {sec + 1}" if a in self.sb else f"bar {a + 1} (in section {sec + 1})"
            if a < pb:
                what.append(f"jumps back to {unit} at {fmt_time(T[a])}: repeats {fmt_time(T[a])}-"
                            f"{fmt_time(T[min(pb, b)])} ({min(pb, b) - a} bars)")
            else:
                what.append(f"skips to {unit} at {fmt_time(T[a])}: drops {fmt_time(T[pb])}-{fmt_time(T[a])} "
                            f"({a - pb} bars)")
            what.append("plays to the end" if b == self.n else f"plays {b - a} bars")
        if r == nb - 1:
            e = c.end_music_s
            if c.ending == "track ending":
                if c.fade_out_s <= 0:
                    what.append(f"ends on its final chord at {fmt_time(self.D)}")
                else:
                    what.append(f"ends on its final chord (hit at {fmt_time(self.D - (e - f.d_last))}), "
                                f"ringing {e - f.d_last:.1f}s, faded over the last {c.fade_out_s:.1f}s")
            elif c.ending.endswith("end"):
                unit = "section" if c.ending.startswith("section") else "phrase"
                what.append(f"ends on the {unit} end at {fmt_time(T[b])} of the track (button, "
                            f"{c.fade_out_s:.2f}s fade)")
            else:
                unit = "section" if c.ending.startswith("section") else "phrase"
                what.append(f"fades out over the last {c.fade_out_s:.1f}s, {T[b] - e:.1f}s before the {unit} end "
                            f"at {fmt_time(T[b])} of the track")
        return "; ".join(what)

    def plan(self) -> tuple[Edit, _Cand | None]:
        cands = [c for c in self.generate() if self._valid(c)]
        if not cands:
            return self._hit_points(self._fallback()), None
        for c in cands:
            self._quick_cost(c)
        cands.sort(key=lambda c: (c.cost, len(c.blocks), c.blocks))
        if self.levels is not None:  # listen to the splices of many plans (cheap once the features exist)
            for c in cands[:_AUDITIONED]:
                self._audible_cost(c)
            cands[:_AUDITIONED] = sorted(cands[:_AUDITIONED], key=lambda c: (c.cost, len(c.blocks), c.blocks))
        top = cands[:_DETAILED]
        for c in top:
            self._detailed_cost(c)
        top.sort(key=lambda c: (c.cost, len(c.blocks), c.blocks))
        best = top[0]
        edit = self._to_edit(best)
        edit.plan = self._plan_numbers(best, len(cands))
        return self._hit_points(edit), best

    def _hit_points(self, edit: Edit) -> Edit:
        """The first sync point still missed by every downbeat gets a hit-point splice: the music is cut
        mid-bar on it and the rest of the picture is planned again from a bar line (the section start
        within two bars of where the music was, else the nearest downbeat), recursively."""
        f, T, db = self.f, self.T, self.f.downbeats_s
        vdb = edit.music_to_video(db)
        miss = [p for p in self.sync if not (vdb.size and np.min(np.abs(vdb - p)) <= SYNC_LANDING_S)]
        if not miss:
            return edit
        p = miss[0]
        ex = edit.excerpts
        k = next((i for i, e in enumerate(ex) if e.video_start_s - _EPS <= p < e.video_end_s), len(ex) - 1)
        e = ex[k]
        n_m = e.music_in_s + (p - e.video_start_s)
        usable = np.arange(self.n)[db < f.d_last - _EPS] if self.n > 2 else np.arange(self.n)
        secs = np.array([i for i in f.section_idx if i in set(usable.tolist())], dtype=int)
        near = secs[np.abs(T[secs] - n_m) <= 2 * f.bar_s + _EPS] if secs.size else secs
        if near.size:
            kd = int(near[np.argmin(np.abs(T[near] - n_m))])
            what = f"section {f.section_of(kd) + 1} starts"
        else:
            kd = int(usable[np.argmin(np.abs(T[usable] - n_m))])
            what = "a downbeat"
        rest = [x - p for x in self.sync if x > p + _EPS]
        sub = _Planner(self.D - p, self.cuts[self.cuts > p + EDGE_EPS_S] - p, f, rest,
                       None if self.climax is None or self.climax < p else self.climax - p, self.tol,
                       False, None, forced_start=kd)
        sub_edit, _ = sub.plan()
        head = list(ex[:k])
        if p - e.video_start_s > 1e-9:
            head.append(Excerpt(e.video_start_s, p, e.music_in_s, n_m, e.snap_offset_s,
                                e.reason + f"; cut mid-bar at {fmt_time(n_m)} of the track so that {what} on the sync "
                                           f"point {fmt_time(p)}", e.cut_s, e.music_segment))
        tail = []
        for j, x in enumerate(sub_edit.excerpts):
            reason = (f"sync point {fmt_time(p)}: {what} on it; " + x.reason) if j == 0 else x.reason
            tail.append(Excerpt(x.video_start_s + p, x.video_end_s + p, x.music_in_s, x.music_out_s, x.snap_offset_s,
                                reason, None if x.cut_s is None else x.cut_s + p, x.music_segment))
        tail[-1] = Excerpt(tail[-1].video_start_s, self.D, tail[-1].music_in_s,
                           tail[-1].music_in_s + (self.D - tail[-1].video_start_s), tail[-1].snap_offset_s,
                           tail[-1].reason, tail[-1].cut_s, tail[-1].music_segment)
        plan = dict(edit.plan)
        plan["hit_points_s"] = list(plan.get("hit_points_s", [])) + [float(p)] + \
            [float(x + p) for x in sub_edit.plan.get("hit_points_s", [])]
        plan["after_hit_point"] = sub_edit.plan
        return Edit(head + tail, self.D, f.duration_s, tuple(self.sync), self.tol,
                    list(edit.notes) + list(sub_edit.notes), sub_edit.ending, edit.head_pickup_s, sub_edit.fade_out_s,
                    plan)

    def _plan_numbers(self, c: _Cand, n_cands: int) -> dict:
        p = {k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in c.parts.items()}
        p.update(planner="form", family=c.family, blocks=[[int(a), int(b)] for a, b in c.blocks],
                 ending_kind=c.ending, end_music_s=float(c.end_music_s), cost=float(c.cost),
                 n_candidates=int(n_cands), late_start=bool(c.blocks[0][0] > 0))
        if self.levels is not None:
            p["natural_audibility_p50"], p["natural_audibility_p90"] = self.levels
        return p

    def _fallback(self) -> Edit:
        """No plan of the allowed shapes fits (e.g. a track with almost no bars): play from the start,
        repeat the whole track as needed (on its first and last bar lines), and fade out at the end."""
        f, T, D = self.f, self.T, self.D
        exs, v = [], 0.0
        m_in = 0.0 if self.forced is None else float(T[self.forced])
        while v < D - _EPS:
            out = f.duration_s if v + (f.duration_s - m_in) >= D - _EPS else f.d_last
            ln = min(out - m_in, D - v)
            reason = "plays from the start" if not exs else f"repeats the track from {fmt_time(T[0])}"
            exs.append(Excerpt(v, v + ln, m_in, m_in + ln, 0.0, reason, None, f.section_of(int(np.searchsorted(f.downbeats_s, m_in)))))
            v += ln
            m_in = float(T[0])
        exs[-1] = Excerpt(exs[-1].video_start_s, D, exs[-1].music_in_s, exs[-1].music_in_s + (D - exs[-1].video_start_s),
                          0.0, exs[-1].reason + f"; fades out over the last {FADE_MAX_S:.0f}s (no bar line allows a "
                          "musical ending)", exs[-1].cut_s, exs[-1].music_segment)
        e = exs[-1].music_out_s
        ending = "track ending" if e >= f.d_last - _EPS else "mid-phrase"
        edit = Edit(exs, D, f.duration_s, tuple(self.sync), self.tol,
                    ["No plan of whole phrases and sections fits this picture: the track is played from the start "
                     "and faded out."], ending, fade_out_s=FADE_MAX_S)
        edit.plan = {"planner": "form", "family": "fallback", "ending_kind": ending}
        return edit


def plan_edit(video_duration_s: float, video_cuts_s: Sequence[float], form: TrackForm, *,
              sync_points_s: Sequence[float] = (), picture_climax_s: float | None = None, tolerance_s: float = 0.25,
              allow_late_start: bool = True, prefer_start_s: float | None = None) -> Edit:
    """Cut the track described by ``form`` to a picture of ``video_duration_s`` with cuts ``video_cuts_s``
    following its form (see the module docstring). ``sync_points_s``: video times that must get a
    downbeat; ``picture_climax_s``: where the music's energy peak should land (needs ``form`` built with
    audio); ``tolerance_s``: how far a splice may sit from a picture cut and still be recorded as on it;
    ``allow_late_start``: False keeps the track's start; ``prefer_start_s``: a music time (e.g. where a
    content alignment starts) whose section may be started on without the late-start cost.
    """
    D = float(video_duration_s)
    if not (math.isfinite(D) and D > 0):
        raise UsageError("The video duration must be a positive number of seconds.")
    sync = sorted(float(s) for s in sync_points_s)
    for s in sync:
        if not (0.0 <= s <= D):
            raise UsageError(f"The sync point {s:.2f}s lies outside the video (0 to {D:.2f}s).")
        if not (SYNC_EDGE_S <= s <= D - SYNC_EDGE_S):  # the first and last frames: the start and the ending own them
            raise UsageError(f"The sync point {s:.2f}s is on the picture's first or last {SYNC_EDGE_S:g} s: the "
                             f"music's start and ending land there anyway; put sync points inside the picture.")
    if picture_climax_s is not None and not (0.0 <= float(picture_climax_s) <= D):
        raise UsageError(f"The picture's climax {float(picture_climax_s):.2f}s lies outside the video (0 to {D:.2f}s).")
    vb = np.unique(np.asarray(video_cuts_s if video_cuts_s is not None else [], float).ravel())
    cuts = vb[(vb > EDGE_EPS_S) & (vb < D - EDGE_EPS_S)]
    planner = _Planner(D, cuts, form, sync, None if picture_climax_s is None else float(picture_climax_s),
                       float(tolerance_s), allow_late_start, prefer_start_s)
    edit, _ = planner.plan()
    _check(edit, form)
    return edit


def _check(edit: Edit, form: TrackForm) -> None:
    ex = edit.excerpts
    assert ex and abs(ex[0].video_start_s) < 1e-9 and abs(ex[-1].video_end_s - edit.video_duration_s) < 1e-9
    for a, b in zip(ex, ex[1:]):
        assert abs(a.video_end_s - b.video_start_s) < 1e-9
    for e in ex:
        assert abs((e.music_out_s - e.music_in_s) - (e.video_end_s - e.video_start_s)) < 1e-9
        assert e.music_in_s >= -1e-9 and e.music_out_s <= form.duration_s + 1e-6, e


# ================================================================================================
@dataclass
class EditStats:
    """What an edit does to the music, for any editor (numbers; times in seconds, lengths in bars)."""

    n_excerpts: int
    n_splices: int
    splices_per_min: float
    share_splices_on_downbeats: float  # both the out and the in within 50 ms of a downbeat (NaN: no splice)
    n_repeats: int  # excerpts that replay music already heard (by more than a bar)
    repeated_s: float  # seconds of the picture under music heard before
    shortest_repeat_bars: float  # the shortest replayed excerpt (NaN: none)
    n_short_repeats: int  # replayed excerpts shorter than MIN_REPEAT_BARS bars that are not whole sections
    shortest_excerpt_bars: float
    max_run: int  # the same fragment played this many times in a row
    unrepeated_coverage: float  # share of the picture under music heard for the first time
    late_start_s: float  # where the music starts in the track (0: its start)
    ending: str  # 'track ending' | 'section end' | 'fade' | 'mid-phrase'
    end_music_s: float
    audible_splice_median: float = float("nan")  # median splice audibility / median of the track's bar lines
    n_clearly_audible: int = 0  # splices above the 90th percentile of the track's bar lines

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def classify_ending(end_music_s: float, form: TrackForm) -> str:
    """Where the music stops, judged the same way for every editor: 'track ending' (the final downbeat
    plays), 'section end' (within a beat after, or ``FADE_MAX_S`` before, a section boundary), 'fade'
    (the same around a phrase bar line), else 'mid-phrase'."""
    e = float(end_music_s)
    if e >= form.d_last - _EPS:
        return "track ending"
    T = form.T
    beat = form.beat_s

    def near(ks):
        t = T[np.asarray(ks, int)]
        return bool(np.any((e >= t - FADE_MAX_S - _EPS) & (e <= t + beat + _EPS)))

    sb = form.section_bounds[1:-1]
    if sb.size and near(sb):
        return "section end"
    ph = form.joints()
    ph = ph[(ph > 0) & (ph < form.n)]
    if ph.size and near(ph):
        return "fade"
    return "mid-phrase"


def describe_edit(edit: Edit, form: TrackForm, with_audibility: bool = True) -> EditStats:
    """:class:`EditStats` of any edit of the track ``form`` describes (audibility needs its audio)."""
    ex = edit.excerpts
    bar = form.bar_s
    db = form.downbeats_s
    on = []
    costs = []
    for a, b in zip(ex, ex[1:]):
        ok = (np.min(np.abs(db - a.music_out_s)) <= 0.05) and (np.min(np.abs(db - b.music_in_s)) <= 0.05)
        on.append(ok)
        if with_audibility and form.audio is not None and _is_bar_splices(form.audio):
            costs.append(form.audio.cost_at(a.music_out_s, b.music_in_s))  # off the bar lines: OffGridSplice
        elif with_audibility and form.audio is not None:
            from supervisor_app.edit.audibility import splice_audibility

            costs.append(splice_audibility(form.audio, int(form.sr), a.music_out_s, b.music_in_s))
    used: list[tuple[float, float]] = []
    n_rep, rep_s, rep_len, n_short = 0, 0.0, [], 0
    secs = form.T[form.section_bounds]
    for k, e in enumerate(ex):
        ov = sum(max(0.0, min(e.music_out_s, u1) - max(e.music_in_s, u0)) for u0, u1 in used)
        if ov > bar:
            n_rep += 1
            bars = float(np.sum((db >= e.music_in_s - 0.05) & (db < e.music_out_s - 0.05)))
            rep_len.append(bars)
            whole = (np.min(np.abs(secs - e.music_in_s)) <= 0.05 and
                     (np.min(np.abs(secs - e.music_out_s)) <= 0.05 or
                      (k == len(ex) - 1 and classify_ending(e.music_out_s, form) in ("track ending", "section end"))))
            if bars < MIN_REPEAT_BARS and not whole:
                n_short += 1
        rep_s += min(ov, e.duration_s)
        used.append((e.music_in_s, e.music_out_s))
    best = run_length([(e.music_in_s, e.music_out_s) for e in ex], bar)
    D = edit.video_duration_s
    lev = form.audibility_levels() if with_audibility else None
    med = n_clear = None
    if costs and lev is not None:
        med = float(np.median(costs)) / max(lev[0], 1e-9)
        n_clear = int(sum(c > lev[1] for c in costs))
    return EditStats(
        n_excerpts=len(ex), n_splices=len(ex) - 1, splices_per_min=60.0 * (len(ex) - 1) / D,
        share_splices_on_downbeats=float(np.mean(on)) if on else float("nan"), n_repeats=n_rep,
        repeated_s=float(rep_s), shortest_repeat_bars=float(min(rep_len)) if rep_len else float("nan"),
        n_short_repeats=int(n_short),
        shortest_excerpt_bars=float(min(e.duration_s for e in ex) / bar),
        max_run=int(best), unrepeated_coverage=float(max(0.0, 1.0 - rep_s / D)),
        late_start_s=float(ex[0].music_in_s), ending=classify_ending(ex[-1].music_out_s, form),
        end_music_s=float(ex[-1].music_out_s),
        audible_splice_median=float("nan") if med is None else med, n_clearly_audible=0 if n_clear is None else n_clear)
