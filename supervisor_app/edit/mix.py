"""The mockup's sound: the edited music mixed UNDER the picture's production sound, ducked under speech.

A music supervisor's mockup goes to a director or a brand: the narration, dialogue and effects of the
film stay, and the music sits under them. :func:`mix_under` does what a music editor's temp mix does:

1. *Speech.* AudioSet YAMNet (the project's ONNX, :mod:`supervisor_app.features.yamnet`) scores
   0.96 s log-mel patches every ``SPEECH_HOP_S`` = 0.48 s (YAMNet's own hop). The speech probability
   of a patch is the largest of the classes in :data:`SPEECH_CLASSES` (speech, conversation, narration,
   whispering, ...: not singing, which is music). It is median-smoothed over three patches and turned
   into speech regions with hysteresis (on at ``speech_on`` = 0.5, off below ``speech_off`` = 0.3);
   each patch speaks for the central 0.48 s it is the nearest patch of.
2. *Levels.* The production sound is the reference (gain 1). The music (the rendered edit) is set to
   the production's loudness plus ``music_db`` (0 dB by default: as loud as the film's own sound):
   the anchor is the loudness of the speech regions (the dialogue level, as broadcast dialogue
   normalisation does) when there are at least ``MIN_SPEECH_ANCHOR_S`` seconds of speech, else the
   integrated loudness (ITU-R BS.1770, pyloudnorm) of the whole production sound.
3. *Ducking.* Under speech the music drops by ``duck_db`` (12 dB by default) with raised-cosine
   ramps: the attack starts ``attack_s`` (0.3 s) before the speech region so the music is fully down
   when the voice enters (the render is offline: it can look ahead), holds ``hold_s`` (0.25 s) after
   it and recovers over ``release_s`` (0.8 s). Gaps shorter than attack + hold + release stay ducked
   (no pumping between words).
4. *Loudness.* The sum is normalised to ``loudness_lufs`` (integrated, BS.1770): -14 LUFS ("web",
   the default) or -23 LUFS ("broadcast", EBU R128), with a look-ahead peak limiter holding the sample
   peak at -1 dBFS so the target is reached without clipping; the loudness actually reached is measured
   and reported (:class:`MixReport`).

Only speech ducks the music. A production sound that is itself music (Big Buck Bunny's score) is
kept, level-matched, under the new music: that is the production sound the picture was delivered
with; the report gives its music share and says so, and ``--music-only`` gives the music alone.
Picture without an audio track, or with a silent one: the music alone, and the report says why.

Channels: the mix is stereo; a mono source is duplicated, a source with more than two channels is
folded to mono first (its centre channel, where dialogue lives, is kept).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from supervisor_app.analysis.speech import SPEECH_CLASSES, SpeechActivity, speech_activity, speech_regions

__all__ = ["MixSettings", "MixReport", "MockupAudio", "SpeechActivity", "LOUDNESS_TARGETS", "SPEECH_CLASSES",
           "speech_activity", "speech_regions", "duck_envelope", "limiter_gain", "limit_peaks", "normalise_loudness",
           "integrated_loudness", "mix_under", "render_mockup_audio", "parse_loudness"]

LOUDNESS_TARGETS = {"web": -14.0, "broadcast": -23.0}
MIN_SPEECH_ANCHOR_S = 3.0  # at least this much speech: the dialogue level is the loudness anchor
PEAK_CEILING_DBFS = -1.0
_CTRL_HZ = 100  # control rate of the ducking envelope


@dataclass(frozen=True)
class MixSettings:
    """How the music sits under the production sound (dB, seconds, LUFS)."""

    duck_db: float = 12.0  # music drop under speech
    music_db: float = 0.0  # music loudness relative to the production's anchor loudness (outside speech)
    loudness_lufs: float | None = LOUDNESS_TARGETS["web"]  # integrated loudness of the mix (None: no normalisation)
    attack_s: float = 0.3
    hold_s: float = 0.25
    release_s: float = 0.8
    speech_on: float = 0.5
    speech_off: float = 0.3

    def __post_init__(self):
        from supervisor_app.infra.errors import UsageError

        if not 0.0 <= self.duck_db <= 60.0:
            raise UsageError(f"The ducking depth must be between 0 and 60 dB (got {self.duck_db}).")
        if not -40.0 <= self.music_db <= 40.0:
            raise UsageError(f"The music level must be between -40 and +40 dB (got {self.music_db}).")
        if self.loudness_lufs is not None and not -70.0 <= self.loudness_lufs <= -1.0:
            raise UsageError(f"The loudness target must be between -70 and -1 LUFS (got {self.loudness_lufs}).")
        if min(self.attack_s, self.hold_s, self.release_s) < 0:
            raise UsageError("Attack, hold and release times cannot be negative.")


def parse_loudness(text: str | float | None) -> float | None:
    """``"web"`` -> -14, ``"broadcast"`` -> -23, ``"none"`` -> None, or a number of LUFS (UsageError otherwise)."""
    from supervisor_app.infra.errors import UsageError

    if text is None or isinstance(text, (int, float)):
        return None if text is None else float(text)
    s = str(text).strip().lower()
    if s in LOUDNESS_TARGETS:
        return LOUDNESS_TARGETS[s]
    if s in ("none", "off"):
        return None
    try:
        v = float(s.replace("lufs", "").strip())
    except ValueError:
        raise UsageError(f"The loudness must be 'web' (-14 LUFS), 'broadcast' (-23 LUFS), 'none' or a number "
                         f"of LUFS such as -16 (got {text!r}).") from None
    if not -70.0 <= v <= -1.0:
        raise UsageError(f"The loudness target must be between -70 and -1 LUFS (got {v:g}).")
    return v


@dataclass
class MixReport:
    """What the mockup's sound is and how it was made (all levels measured)."""

    mode: str  # "mix" or "music only"
    why: str  # one sentence a user reads
    speech_regions_s: list = field(default_factory=list)
    speech_s: float = 0.0
    production_music_share: float | None = None  # share of patches YAMNet calls music (> 0.5)
    anchor: str | None = None  # "dialogue" or "whole production"
    production_lufs: float | None = None  # the anchor's loudness
    music_gain_db: float | None = None  # gain applied to the rendered music before ducking
    duck_db: float | None = None
    loudness_target_lufs: float | None = None
    loudness_lufs: float | None = None  # reached (measured on the result)
    peak_dbfs: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["speech_regions_s"] = [[round(float(a), 3), round(float(b), 3)] for a, b in self.speech_regions_s]
        return d


@dataclass
class MockupAudio:
    """The mockup's sound at ``sr``: ``mix`` (what the MP4 plays), ``music`` (the music stem as it sits
    in the mix: ``production + music == mix`` up to the limiter), both float32 (2, n)."""

    mix: np.ndarray
    music: np.ndarray
    sr: int
    report: MixReport


def duck_envelope(n: int, sr: int, regions_s, duck_db: float, attack_s: float = 0.3, hold_s: float = 0.25,
                  release_s: float = 0.8) -> np.ndarray:
    """Linear gain (n,) for the music: ``10**(-duck_db/20)`` inside the regions, 1 far from them, with a
    raised-cosine attack of ``attack_s`` ending at each region's start and, after its end, a hold of
    ``hold_s`` then a raised-cosine release of ``release_s``; regions closer than attack + hold + release
    count as one (no pumping between sentences). Continuous (no clicks)."""
    n_ctrl = int(np.ceil(n / sr * _CTRL_HZ)) + 2
    t = np.arange(n_ctrl) / _CTRL_HZ
    merged: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in regions_s):
        if merged and a - merged[-1][1] < attack_s + hold_s + release_s:  # a pause too short to come back up
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    speech = np.zeros(n_ctrl, bool)
    for a, b in merged:
        speech[(t >= a) & (t <= b)] = True
    amount = np.zeros(n_ctrl)
    if speech.any() and duck_db > 0:
        idx = np.flatnonzero(speech)
        pos = np.searchsorted(idx, np.arange(n_ctrl))
        nxt = np.where(pos < idx.size, idx[np.minimum(pos, idx.size - 1)], 10 ** 9)
        prv = np.where(pos > 0, idx[np.maximum(pos - 1, 0)], -10 ** 9)
        prv = np.where(speech, np.arange(n_ctrl), prv)
        d_next = (nxt - np.arange(n_ctrl)) / _CTRL_HZ  # s until speech (0 inside)
        d_prev = (np.arange(n_ctrl) - prv) / _CTRL_HZ  # s since speech (0 inside)
        att = np.where(d_next <= 0, 1.0, np.where(d_next < attack_s, 0.5 * (1 + np.cos(np.pi * d_next / max(attack_s, 1e-9))), 0.0))
        r = d_prev - hold_s
        rel = np.where(r <= 0, 1.0, np.where(r < release_s, 0.5 * (1 + np.cos(np.pi * r / max(release_s, 1e-9))), 0.0))
        amount = np.maximum(att, rel)
    gain_db = -float(duck_db) * amount
    ts = np.arange(n) / sr
    return (10.0 ** (np.interp(ts, t, gain_db) / 20.0)).astype(np.float32)


# --- loudness -----------------------------------------------------------------------------------------
def integrated_loudness(x: np.ndarray, sr: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of (channels, n) audio; -inf for silence or < 0.4 s.

    pyloudnorm's K-weighting filters and gating (400 ms blocks, 75 % overlap, -70 LUFS absolute and
    -10 LU relative gates, channel weights 1, 1, 1, 1.41, 1.41), with the block energies computed
    from a cumulative sum instead of pyloudnorm's per-block Python loop (the same value to 1e-12 LU,
    checked in tests/test_mix.py)."""
    import pyloudnorm
    from scipy.signal import lfilter

    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    n = x.shape[1]
    if n < int(0.4 * sr) or not np.any(x):
        return float("-inf")
    meter = pyloudnorm.Meter(sr)
    filters = getattr(meter, "_filters", None)
    if not filters or x.shape[0] > 5:
        return float(meter.integrated_loudness(x.T))
    y = x
    for f in filters.values():
        y = f.passband_gain * lfilter(f.b, f.a, y, axis=1)
    T_g, step = 0.4, 0.25
    n_blocks = int(np.round((n / sr - T_g) / (T_g * step))) + 1
    j = np.arange(n_blocks)
    lo = (T_g * (j * step) * sr).astype(int)
    hi = np.minimum((T_g * (j * step + 1) * sr).astype(int), n)
    cs = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y * y, axis=1)], axis=1)
    z = (cs[:, hi] - cs[:, lo]) / (T_g * sr)  # (channels, blocks)
    G = np.array([1.0, 1.0, 1.0, 1.41, 1.41])[:y.shape[0], None]
    with np.errstate(divide="ignore"):
        lj = -0.691 + 10.0 * np.log10(np.sum(G * z, axis=0))
    gated = lj >= -70.0
    if not gated.any():
        return float("-inf")
    with np.errstate(divide="ignore"):
        gamma_r = -0.691 + 10.0 * np.log10(np.sum(G[:, 0] * z[:, gated].mean(axis=1))) - 10.0
    gated = (lj > gamma_r) & (lj > -70.0)
    if not gated.any():
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(-0.691 + 10.0 * np.log10(np.sum(G[:, 0] * z[:, gated].mean(axis=1))))


def limiter_gain(x: np.ndarray, sr: int, ceiling_dbfs: float = PEAK_CEILING_DBFS, lookahead_s: float = 0.005,
                 release_s: float = 0.15) -> np.ndarray:
    """Gain (n,) of a look-ahead peak limiter: ``x * gain`` peaks at most at ``ceiling_dbfs``. The gain
    falls over ``lookahead_s`` before a peak (a moving average of a moving minimum: continuous, and
    always low enough) and recovers with an exponential release of time constant ``release_s``."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    ceil = 10 ** (ceiling_dbfs / 20)
    peak = np.max(np.abs(x), axis=0).astype(np.float64)
    if peak.size == 0 or float(peak.max()) <= ceil:
        return np.ones(x.shape[1], np.float32)
    need = np.minimum(1.0, ceil / np.maximum(peak, 1e-12))
    w = max(1, int(round(lookahead_s * sr)))
    g = minimum_filter1d(need, size=2 * w + 1, mode="nearest")  # low enough within +-w of every peak
    tau = max(1.0, release_s * sr)
    g = 1.0 - _hold_release(1.0 - g, tau)  # never above g: still low enough
    g = uniform_filter1d(g, size=2 * (w // 2) + 1, mode="nearest")  # averages values <= need(i)
    return np.minimum(g, need).astype(np.float32)


def limit_peaks(x: np.ndarray, sr: int, ceiling_dbfs: float = PEAK_CEILING_DBFS) -> np.ndarray:
    """``x`` through :func:`limiter_gain` (sample peak at most ``ceiling_dbfs``)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    return (x * limiter_gain(x, sr, ceiling_dbfs)[None, :]).astype(np.float32)


def _hold_release(red: np.ndarray, tau: float) -> np.ndarray:
    """``y[i] = max(red[i], y[i-1] * exp(-1/tau))``: instant attack, exponential release (blockwise numpy)."""
    a = np.exp(-1.0 / tau)
    y = np.empty_like(red, dtype=np.float64)
    prev = 0.0
    block = int(max(1, min(4096, 300 * tau)))  # a**(-block) stays finite
    for s in range(0, red.size, block):
        r = red[s:s + block].astype(np.float64)
        i = np.arange(r.size, dtype=np.float64)
        run = np.maximum.accumulate(r * a ** (-i)) * a ** i
        run = np.maximum(run, prev * a ** (i + 1))
        y[s:s + r.size] = run
        prev = float(run[-1])
    return y


def normalise_loudness(x: np.ndarray, sr: int, target_lufs: float,
                       measured_lufs: float | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Gain to ``target_lufs``, then the peak limiter (-1 dBFS), with up to two correction passes for
    the loudness the limiter took (a plain gain changes the loudness by exactly its dB, so only a
    limited result is measured again). ``measured_lufs``: ``x``'s loudness when already known.
    Returns (audio, loudness reached in LUFS or -inf for silence, the gain applied per sample (n,))."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    loud = integrated_loudness(x, sr) if measured_lufs is None else float(measured_lufs)
    if not np.isfinite(loud):
        return x, loud, np.ones(x.shape[1], np.float32)
    gain_db = target_lufs - loud
    for _ in range(3):
        g = np.float32(10 ** (gain_db / 20))
        lim = limiter_gain(x * g, sr)
        env = lim * g
        y = (x * env[None, :]).astype(np.float32)
        if np.all(lim == 1.0):
            return y, loud + gain_db, env
        reached = integrated_loudness(y, sr)
        if not np.isfinite(reached) or abs(reached - target_lufs) <= 0.2:
            break
        gain_db += target_lufs - reached
    return y, reached, env


# --- the mix --------------------------------------------------------------------------------------------
def _stereo(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    if x.shape[0] == 2:
        return x
    if x.shape[0] == 1:
        return np.repeat(x, 2, axis=0)
    return np.repeat(x.mean(axis=0, keepdims=True), 2, axis=0)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        return x[:, :n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))


def _concat_regions(x: np.ndarray, sr: int, regions) -> np.ndarray:
    parts = [x[:, int(a * sr):int(b * sr)] for a, b in regions]
    parts = [p for p in parts if p.shape[1]]
    return np.concatenate(parts, axis=1) if parts else x[:, :0]


def _finish_music_only(music: np.ndarray, sr: int, settings: MixSettings, why: str, **extra) -> MockupAudio:
    m = _stereo(music)
    reached = integrated_loudness(m, sr)
    if settings.loudness_lufs is not None:
        m, reached, _ = normalise_loudness(m, sr, settings.loudness_lufs, measured_lufs=reached)
    else:
        m = limit_peaks(m, sr, 0.0)
    peak = float(np.max(np.abs(m))) if m.size else 0.0
    rep = MixReport(mode="music only", why=why, loudness_target_lufs=settings.loudness_lufs,
                    loudness_lufs=_num(reached), peak_dbfs=_db(peak), **extra)
    return MockupAudio(mix=m, music=m, sr=sr, report=rep)


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _db(v: float) -> float | None:
    return float(20 * np.log10(v)) if v > 0 else None


def mix_under(production: np.ndarray | None, music: np.ndarray, sr: int, settings: MixSettings = MixSettings(), *,
              activity: SpeechActivity | None = None, music_only: bool = False,
              no_audio_why: str = "The picture has no audio track: the mockup is the music alone.",
              should_cancel: Callable[[], bool] | None = None) -> MockupAudio:
    """Mix ``music`` ((C, n) at ``sr``, n = the picture's length) under ``production`` (the picture's own
    sound, any channels, cut or zero-padded to n), ducked under its speech; see the module docstring.
    ``activity``: precomputed speech probabilities (else YAMNet runs on the production sound)."""
    music = _stereo(music)
    n = music.shape[1]
    if music_only:
        return _finish_music_only(music, sr, settings, "Music only, as asked (--music-only).")
    if production is None:
        return _finish_music_only(music, sr, settings, no_audio_why)
    prod = _fit(_stereo(production), n)
    prod_lufs = integrated_loudness(prod, sr)
    if not np.isfinite(prod_lufs) or prod_lufs < -65.0:
        return _finish_music_only(music, sr, settings,
                                  "The picture's audio track is silent: the mockup is the music alone.")
    if activity is None:
        from scipy.signal import resample_poly
        from math import gcd

        mono = prod.mean(axis=0)
        g = gcd(16000, sr)
        x16 = resample_poly(mono, 16000 // g, sr // g).astype(np.float32)
        activity = speech_activity(x16, should_cancel)
    dur = n / sr
    regions = speech_regions(activity, dur, settings.speech_on, settings.speech_off)
    speech_s = float(sum(b - a for a, b in regions))
    music_share = float(np.mean(activity.music_prob > 0.5)) if activity.music_prob.size else None
    anchor, anchor_lufs = "whole production", prod_lufs
    if speech_s >= MIN_SPEECH_ANCHOR_S:
        dl = integrated_loudness(_concat_regions(prod, sr, regions), sr)
        if np.isfinite(dl):
            anchor, anchor_lufs = "dialogue", dl
    music_lufs = integrated_loudness(music, sr)
    gain_db = 0.0 if not np.isfinite(music_lufs) else anchor_lufs + settings.music_db - music_lufs
    duck = duck_envelope(n, sr, regions, settings.duck_db, settings.attack_s, settings.hold_s, settings.release_s)
    m = music * np.float32(10 ** (gain_db / 20)) * duck[None, :]
    mix = prod + m
    loud = integrated_loudness(mix, sr)
    if settings.loudness_lufs is not None and np.isfinite(loud):
        out, reached, env = normalise_loudness(mix, sr, settings.loudness_lufs, measured_lufs=loud)
    else:
        env = limiter_gain(mix, sr, 0.0)
        out, reached = mix * env[None, :], loud
    stem = (m * env[None, :]).astype(np.float32)  # the music as it sits in the mix: out = prod * env + stem
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if speech_s > 0:
        why = (f"The music is mixed under the picture's sound and ducked {settings.duck_db:g} dB under "
               f"{speech_s:.1f} s of speech.")
    elif music_share is not None and music_share >= 0.5:
        why = (f"The picture's sound is mostly music ({music_share:.0%} of it) and has no speech: both play, "
               f"level-matched (use --music-only for the new music alone).")
    else:
        why = "The music is mixed with the picture's sound (no speech found, so it is never ducked)."
    rep = MixReport(mode="mix", why=why, speech_regions_s=regions, speech_s=speech_s,
                    production_music_share=music_share, anchor=anchor, production_lufs=_num(anchor_lufs),
                    music_gain_db=float(gain_db), duck_db=float(settings.duck_db),
                    loudness_target_lufs=settings.loudness_lufs, loudness_lufs=_num(reached), peak_dbfs=_db(peak))
    return MockupAudio(mix=np.asarray(out, np.float32), music=stem, sr=sr, report=rep)


def render_mockup_audio(edit, track_path: str | Path, video_path: str | Path | None, *, sr: int = 48000,
                        music_only: bool = False, settings: MixSettings = MixSettings(), crossfade_s: float = 0.02,
                        end_fade_s: float = 1.0, should_cancel: Callable[[], bool] | None = None) -> MockupAudio:
    """The mockup's sound for ``edit``: the rendered music mixed under ``video_path``'s audio track
    (see :func:`mix_under`), or the music alone (``music_only``, no video, no or silent audio track)."""
    from supervisor_app.media import load_audio, probe
    from supervisor_app.edit.render import render_audio

    music = render_audio(edit, track_path, sr=sr, crossfade_s=crossfade_s, end_fade_s=end_fade_s)
    production = None
    why = "The mockup is the music alone."
    if video_path is not None and not music_only:
        info = probe(video_path)
        if info.has_audio:
            production = load_audio(video_path, sr=sr, mono=False)
        else:
            why = "The picture has no audio track: the mockup is the music alone."
    return mix_under(production, music, sr, settings, music_only=music_only, no_audio_why=why,
                     should_cancel=should_cancel)
