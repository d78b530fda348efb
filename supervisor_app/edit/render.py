"""Render an :class:`~supervisor_app.edit.edl.Edit`: the edited music as samples, a WAV, or an MP4 with the video.

Splices get equal-power crossfades: over ``crossfade_s`` (or the edit's own ``crossfades_s``, one per
splice, when it has them: a free-time edit's 1.5 s) centred on the splice (shifted to one side
when the file has no material before an in at its very start, or after an out at its very end) the
outgoing excerpt (played on past its out) fades with ``cos(pi/2 x)`` while the incoming one (started
before its in) rises with ``sin(pi/2 x)``, so ``gain_out^2 + gain_in^2 = 1`` (constant power for uncorrelated music)
and the mix is continuous: no click. The head fades in over ``crossfade_s`` (``PICKUP_FADE_S`` when the
music enters mid-bar: a head pickup); the tail fades out over
``crossfade_s`` when the edit ends in the track's ending, else over ``end_fade_s`` (a mid-phrase end).
Optional loudness normalisation to ``loudness_lufs`` (ITU-R BS.1770 integrated loudness, pyloudnorm),
never above a -1 dBFS sample peak (the gain is lowered instead, so the result may stay quieter).

MP4s are made with the ``ffmpeg`` program: the mockup's sound (AAC: the music mixed under the video's
own audio track, ducked under speech, see :mod:`supervisor_app.edit.mix`; or the music alone) muxed with the video, which is
stream-copied when it already is H.264, else transcoded once to H.264 (libx264, yuv420p). The default
x264 preset is ``ultrafast`` (CRF 22): a mockup is a draft to review, and on a 2-core CPU ``veryfast``
took about 5 times longer for 720p (see benchmarks/bench_render.py); pass ``preset`` for smaller files. Every file is
written to a temporary name beside the target and renamed into place (atomic).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from supervisor_app.infra.errors import MediaError, NoVideoStreamError, SupervisorError
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, as_progress, check_cancelled
from supervisor_app.edit.edl import Edit

__all__ = ["render_audio", "render_wav", "render_mp4", "write_wav", "splice_discontinuity_bound"]

PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS
PICKUP_FADE_S = 0.25  # fade-in when the music enters mid-bar (a head pickup), s


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def _take(audio: np.ndarray, start: int, n: int) -> np.ndarray:
    """``audio[:, start:start+n]`` with zeros outside the file."""
    C, N = audio.shape
    out = np.zeros((C, n), dtype=np.float32)
    a, b = max(start, 0), min(start + n, N)
    if b > a:
        out[:, a - start:b - start] = audio[:, a:b]
    return out


def _layout(edit: Edit, sr: int, crossfade_s: float, n_src: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Sample index where each excerpt starts (+ the end), and per splice ``(lead, lag)``: the crossfade
    runs from ``lead`` samples before the splice to ``lag`` after it (``(0, 0)`` at the head and tail).

    Centred (``lead = lag``) by default; shifted after the splice when the incoming excerpt starts too
    close to the beginning of the file to pre-roll, before it when the outgoing one ends too close to
    the end of the file to play on; each side is at most half of the neighbouring excerpt.
    """
    n_out = int(round(edit.video_duration_s * sr))
    ex = edit.excerpts
    bounds = [int(round(e.video_start_s * sr)) for e in ex] + [n_out]
    h0 = max(1, int(round(crossfade_s * sr / 2)))
    per_splice = tuple(getattr(edit, "crossfades_s", ()) or ())  # a free-time edit's own lengths (s)
    xf = [(0, 0)]
    for k in range(1, len(ex)):
        if len(per_splice) == len(ex) - 1:
            h0 = max(1, int(round(float(per_splice[k - 1]) * sr / 2)))
        before, after = (bounds[k] - bounds[k - 1]) // 2, (bounds[k + 1] - bounds[k]) // 2
        h = max(0, min(h0, before, after))
        lead = lag = h
        in_s = int(round(ex[k].music_in_s * sr))
        out_s = int(round(ex[k - 1].music_out_s * sr))
        if in_s < lead:  # nothing to pre-roll before the incoming in: fade after the splice
            lead = max(0, in_s)
            lag = min(2 * h - lead, after)
        if out_s + lag > n_src:  # nothing to play on after the outgoing out: fade before the splice
            lag = max(0, n_src - out_s)
            lead = min(2 * h - lag, before, max(0, in_s))
        xf.append((lead, lag))
    xf.append((0, 0))
    return bounds, xf


def render_from_array(edit: Edit, audio: np.ndarray, sr: int, crossfade_s: float = 0.02,
                      loudness_lufs: float | None = None, end_fade_s: float = 1.0) -> np.ndarray:
    """Like :func:`render_audio` for an already decoded track ``audio`` ((channels, n) or (n,), ``sr`` Hz)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    C = audio.shape[0]
    n_out = int(round(edit.video_duration_s * sr))
    out = np.zeros((C, n_out), dtype=np.float32)
    ex = edit.excerpts
    bounds, xf = _layout(edit, sr, crossfade_s, audio.shape[1])
    for k, e in enumerate(ex):
        lead_in, lag_in = xf[k]
        lead_out, lag_out = xf[k + 1]
        start, end = bounds[k] - lead_in, bounds[k + 1] + lag_out
        n = end - start
        if n <= 0:
            continue
        seg = _take(audio, int(round(e.music_in_s * sr)) - lead_in, n)
        gain = np.ones(n, dtype=np.float32)
        L = lead_in + lag_in
        if L:
            gain[:L] = np.sin(0.5 * np.pi * (np.arange(L) + 0.5) / L)
        L = lead_out + lag_out
        if L:
            gain[n - L:] *= np.cos(0.5 * np.pi * (np.arange(L) + 0.5) / L)
        out[:, start:end] += seg * gain
    # head fade-in (longer when the music enters mid-bar) and tail fade-out
    head_s = crossfade_s if abs(edit.head_pickup_s) < 1e-9 else max(crossfade_s, PICKUP_FADE_S)
    head_s = min(head_s, ex[0].duration_s) if ex else head_s
    fi = min(n_out, max(1, int(round(head_s * sr))))
    out[:, :fi] *= np.sin(0.5 * np.pi * (np.arange(fi) + 0.5) / fi)
    tail_s = crossfade_s if edit.ending == "track ending" else max(crossfade_s, end_fade_s)
    if getattr(edit, "fade_out_s", 0.0) > 0:  # the form planner states its ending's fade
        tail_s = max(crossfade_s, float(edit.fade_out_s))
    tail_s = min(tail_s, ex[-1].duration_s) if ex else tail_s
    fo = min(n_out, max(1, int(round(tail_s * sr))))
    out[:, n_out - fo:] *= np.cos(0.5 * np.pi * (np.arange(fo) + 0.5) / fo)
    if loudness_lufs is not None:
        out = _normalise(out, sr, float(loudness_lufs))
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        out *= 1.0 / peak
    return out


def _normalise(x: np.ndarray, sr: int, target_lufs: float) -> np.ndarray:
    import pyloudnorm

    if x.shape[1] < int(0.4 * sr):
        return x  # BS.1770 needs at least one 400 ms block
    meter = pyloudnorm.Meter(sr)
    loud = meter.integrated_loudness(x.T.astype(np.float64))
    if not np.isfinite(loud):
        return x  # silence
    gain = 10 ** ((target_lufs - loud) / 20)
    peak = float(np.max(np.abs(x)))
    if peak * gain > PEAK_CEILING:
        gain = PEAK_CEILING / peak
    return (x * gain).astype(np.float32)


def render_audio(edit: Edit, track_path: str | Path, sr: int = 48000, crossfade_s: float = 0.02,
                 loudness_lufs: float | None = None, end_fade_s: float = 1.0) -> np.ndarray:
    """Render the edited music: float32 ``(channels, round(video_duration_s * sr))`` at ``sr`` Hz.

    ``crossfade_s``: equal-power crossfade at each splice (s); ``loudness_lufs``: integrated loudness
    target (LUFS, e.g. -16 for web, -23 for EBU R128 broadcast) or None; ``end_fade_s``: fade-out when
    the music ends mid-phrase (s). The track is decoded through :func:`supervisor_app.media.load_audio`.
    """
    from supervisor_app.media import load_audio

    audio = load_audio(track_path, sr=sr, mono=False)
    return render_from_array(edit, audio, sr, crossfade_s=crossfade_s, loudness_lufs=loudness_lufs,
                             end_fade_s=end_fade_s)


def _write_wav(samples: np.ndarray, sr: int, out_path: Path, subtype: str = "PCM_24") -> None:
    import soundfile as sf

    from supervisor_app.infra.errors import OutputNotWritableError
    from supervisor_app.infra.fileio import atomic_output

    with atomic_output(out_path, "The WAV file") as tmp:
        try:
            sf.write(str(tmp), samples.T, sr, subtype=subtype, format="WAV")
        except RuntimeError as e:  # libsndfile's errors (a full disk among them)
            raise OutputNotWritableError(out_path, "The WAV file", str(e).splitlines()[0][:120]) from None


def write_wav(samples: np.ndarray, sr: int, out_path: str | Path) -> Path:
    """Write (channels, n) float samples as a 24-bit WAV at ``out_path`` (atomic). Returns the path."""
    out_path = Path(out_path)
    _write_wav(np.atleast_2d(samples), sr, out_path)
    return out_path


def render_wav(edit: Edit, track_path: str | Path, out_path: str | Path, sr: int = 48000,
               crossfade_s: float = 0.02, loudness_lufs: float | None = None, end_fade_s: float = 1.0) -> Path:
    """Render the edited music to a 24-bit WAV at ``out_path`` (atomic). Returns the path."""
    out_path = Path(out_path)
    samples = render_audio(edit, track_path, sr=sr, crossfade_s=crossfade_s, loudness_lufs=loudness_lufs,
                           end_fade_s=end_fade_s)
    _write_wav(samples, sr, out_path)
    return out_path


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if not exe:
        raise SupervisorError("Rendering an MP4 needs the ffmpeg program, which is not installed "
                              "(on Debian/Ubuntu: apt install ffmpeg).")
    return exe


def render_mp4(edit: Edit, video_path: str | Path, track_path: str | Path, out_path: str | Path,
               progress: ProgressFn | None = None, sr: int = 48000,
               crossfade_s: float = 0.02, loudness_lufs: float | None = None, end_fade_s: float = 1.0,
               crf: int = 22, preset: str = "ultrafast", audio_bitrate: str = "192k", *,
               music_only: bool = False, mix=None, audio=None, should_cancel: ShouldCancel | None = None) -> Path:
    """Mux the mockup's sound with the video into a playable MP4 (H.264/AAC) at ``out_path`` (atomic).

    The sound is the edited music mixed under the video's own audio track, ducked under speech and
    normalised (:func:`supervisor_app.edit.mix.render_mockup_audio`; ``mix``: its
    :class:`~supervisor_app.edit.mix.MixSettings`, default -14 LUFS or ``loudness_lufs`` when given),
    or the music alone with ``music_only`` or when the video has no (or a silent) audio track.
    ``audio``: an already rendered :class:`~supervisor_app.edit.mix.MockupAudio` to use instead.
    The video is copied when it is H.264 already, else transcoded once (libx264 ``preset``/``crf``).
    ``progress(fraction, stage)`` follows the mix and the encoding; ``should_cancel()`` is polled while
    ffmpeg runs and stops it (:class:`~supervisor_app.infra.jobs.Cancelled`, nothing is left behind).
    Returns the path.
    """
    from supervisor_app.infra.lifecycle import popen_kwargs, stop, sweep_stale
    from supervisor_app.media import probe
    from supervisor_app.infra.outputs import resolve_output

    report = as_progress(progress)
    video_path, out_path = Path(video_path), resolve_output(out_path)  # a link is written through
    info = probe(video_path)
    if not info.has_video:
        raise NoVideoStreamError(video_path)
    exe = _ffmpeg()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(out_path)
    # what an earlier render killed with SIGKILL left (its ffmpeg died with it: PDEATHSIG)
    sweep_stale(out_path.parent, f".{out_path.stem}.tmp", out_path.suffix)
    sweep_stale(tempfile.gettempdir(), "supervisor-render-")
    duration = float(edit.video_duration_s)
    with tempfile.TemporaryDirectory(prefix=f"supervisor-render-{os.getpid()}-") as td:
        wav = Path(td) / "music.wav"
        if audio is None:
            from supervisor_app.edit.mix import MixSettings, render_mockup_audio

            if mix is None:
                mix = MixSettings() if loudness_lufs is None else MixSettings(loudness_lufs=float(loudness_lufs))
            report(0.0, "mixing the music under the picture's sound")
            audio = render_mockup_audio(edit, track_path, video_path, sr=sr, music_only=music_only, settings=mix,
                                        crossfade_s=crossfade_s, end_fade_s=end_fade_s, should_cancel=should_cancel)
        _write_wav(audio.mix, audio.sr, wav, subtype="FLOAT")
        check_cancelled(should_cancel, "The MP4 render")
        report(0.05, "encoding the MP4")
        copy = (info.video_codec or "").lower() in ("h264", "avc1")
        vcodec = ["-c:v", "copy"] if copy else ["-c:v", "libx264", "-preset", preset, "-crf", str(int(crf)),
                                                "-pix_fmt", "yuv420p"]
        cmd = [exe, "-nostdin", "-y", "-v", "error", "-i", str(video_path), "-i", str(wav),
               "-map", "0:v:0", "-map", "1:a:0", *vcodec, "-c:a", "aac", "-b:a", audio_bitrate,
               "-t", f"{duration:.6f}", "-movflags", "+faststart", "-f", "mp4",
               "-progress", "pipe:1", "-nostats", str(tmp)]
        proc = None
        try:  # ffmpeg dies with this process (PDEATHSIG) and is stopped on any early exit (finally)
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs())
            assert proc.stdout is not None
            for line in proc.stdout:  # ffmpeg writes a progress block about twice a second
                check_cancelled(should_cancel, "The MP4 render")  # the finally below stops ffmpeg
                key, _, val = line.strip().partition("=")
                if key == "out_time_us" and val.strip().lstrip("-").isdigit():
                    report(0.05 + 0.95 * min(1.0, max(0.0, int(val) / 1e6 / duration)), "encoding the MP4")
            _, err = proc.communicate()
            if proc.returncode != 0:
                last = (err or "").strip().splitlines()[-1:] or ["unknown error"]
                raise MediaError(video_path, f"The mockup could not be rendered (ffmpeg: {last[0]}).")
            os.replace(tmp, out_path)
        finally:
            if proc is not None:
                stop(proc)
            if tmp.exists():
                tmp.unlink()
    report(1.0, "MP4 written")
    return out_path


def splice_discontinuity_bound(edit: Edit, audio: np.ndarray, sr: int, crossfade_s: float = 0.02) -> list[dict]:
    """For each splice, the largest sample step |Δy| the rendered mix may show there, and why.

    Inside a crossfade ``y = g_o x_o + g_i x_i`` with ``g_o^2 + g_i^2 = 1``, hence
    ``|Δy| <= (|g_o| + |g_i|) max|Δx| + max|Δg| (|x_o| + |x_i|) <= sqrt(2) max|Δx| + (pi / (2 L)) 2 max|x|``
    over the window (``L`` samples of crossfade): the music's own local step, at most sqrt(2) times
    larger, plus the gain slope. A hard cut instead can jump by up to ``2 max|x|``. Returns one dict
    per splice: ``t_s``, ``bound`` and ``local_step`` (max |Δx| of the two sources around the splice).
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    _, xf = _layout(edit, sr, crossfade_s, audio.shape[1])
    res = []
    for k, (prev, nxt) in enumerate(zip(edit.excerpts, edit.excerpts[1:]), start=1):
        lead, lag = xf[k]
        L = max(1, lead + lag)
        o = _take(audio, max(0, int(round(prev.music_out_s * sr)) - lead - 1), lead + lag + 2)
        i = _take(audio, max(0, int(round(nxt.music_in_s * sr)) - lead - 1), lead + lag + 2)
        step = max(float(np.max(np.abs(np.diff(o, axis=1)))), float(np.max(np.abs(np.diff(i, axis=1)))))
        amp = max(float(np.max(np.abs(o))), float(np.max(np.abs(i))))
        bound = np.sqrt(2) * step + (np.pi / (2 * L)) * 2 * amp
        res.append({"t_s": nxt.video_start_s, "bound": bound, "local_step": step})
    return res
