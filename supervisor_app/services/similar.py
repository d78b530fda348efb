"""Similar tracks ("more like this"): rank catalog tracks by their sound's closeness to a query.

The query is a catalog track (its id) or any audio/video file (analysed on the fly), whole or an
excerpt (``excerpt_s=(from_s, to_s)``, default 12 s long: "like this bit").

Two similarity spaces; the result says which one was used (``space``, ``space_note``):

- **MuSimNet** (a model trained on tags, thesis ch. 4) when one is selected (``model=NAME``, or the
  catalog's remembered choice, see :func:`set_similarity_model`). Track = mean embedding of 512-frame
  CQT patches starting every 256 frames (5.9 s) while a whole patch fits; ranked by the Euclidean distance
  between the mean embeddings (score = 1 − d/2). Embeddings are computed on first use and stored in
  the catalog (:func:`embed_catalog_musimnet`); excerpts are matched against the per-patch embeddings.
- **Frozen YAMNet** otherwise (works out of the box on an indexed catalog): the track-level mean of
  the 1 Hz AudioSet YAMNet embeddings stored by ``catalog index``; score = cosine similarity.
  Excerpts are matched against every window of the same length slid second by second over the
  stored 1 Hz frames.

Filters (:class:`supervisor_app.catalog.filters.Filters`) apply before ranking; the BPM filter uses the
track's BPM tag, else its analysed tempo.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import (ProgressFn, ShouldCancel, as_progress, check_cancelled, count_progress,
                                      sub_progress)
from supervisor_app.catalog.filters import Filters

EXCERPT_S = 12.0  # default length of an excerpt query
MODEL_META_KEY = "similar.musimnet_model"  # catalog meta: the MuSimNet chosen for this catalog
PATCH_HOP_FRAMES = 256  # MuSimNet patches every 5.94 s over catalog tracks
YAMNET_SPACE = "yamnet-mean"


@dataclass
class SimilarTrack:
    rank: int
    track_id: int
    path: str
    title: str
    artist: str
    duration_s: Optional[float]
    bpm: Optional[float]
    score: float  # higher = more similar (cosine for YAMNet, 1 − d/2 for MuSimNet)
    match_start_s: Optional[float] = None  # excerpt queries: the best-matching window of this track
    match_end_s: Optional[float] = None
    reasons: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SimilarResult:
    query: dict  # {"track_id", "path", "title", "excerpt_s"}
    space: str  # "yamnet-mean" | "musimnet:NAME"
    space_note: str  # one sentence saying what "similar" means here
    mode: str  # "track" | "excerpt"
    results: list[SimilarTrack]
    notes: list[str] = field(default_factory=list)
    n_candidates: int = 0  # tracks that passed the filters and were ranked

    def to_dict(self) -> dict:
        return {"query": self.query, "space": self.space, "space_note": self.space_note, "mode": self.mode,
                "n_candidates": self.n_candidates, "notes": self.notes, "results": [r.to_dict() for r in self.results]}


# --- model selection --------------------------------------------------------------------------------------
def set_similarity_model(catalog, model: Optional[str]) -> None:
    """Remember the MuSimNet to use for this catalog's similarity search (None: the frozen YAMNet space)."""
    if model:
        from supervisor_app.musimnet.nets import load_musimnet

        load_musimnet(model, device="cpu")  # refuse a missing or wrong model now, not at search time
    catalog.set_meta(MODEL_META_KEY, model or None)


def similarity_model(catalog) -> Optional[str]:
    """The MuSimNet remembered for this catalog, or None."""
    return catalog.get_meta(MODEL_META_KEY) or None


def _load_model(model, catalog):
    """A LoadedMuSimNet, or None for the YAMNet space."""
    if model is None:
        model = similarity_model(catalog)
    if model is None or model in ("", "none", "yamnet"):
        return None
    if hasattr(model, "card") and hasattr(model, "model"):
        return model
    from supervisor_app.musimnet.nets import load_musimnet
    from supervisor_app.nets.device import select_device

    loaded = load_musimnet(model, device=select_device("auto"))
    if loaded.model.is_tagger:
        raise errors.UsageError(f"The model {loaded.name!r} is an AT baseline (a tagger); choose a triplet-loss "
                                "(tl or tl-autopool) MuSimNet for similarity search.")
    return loaded


# --- the query --------------------------------------------------------------------------------------------
@dataclass
class _Query:
    track: object  # catalog Track or None
    path: str
    title: str


def _resolve_query(track, catalog) -> _Query:
    if isinstance(track, (int, np.integer)) or (isinstance(track, str) and track.strip().isdigit()
                                                 and not Path(track).exists()):
        t = catalog.get_track(int(track))
        if t is None:
            raise errors.UsageError(f"The catalog has no track with id {int(track)}.")
        return _Query(t, t.path, t.title or Path(t.path).stem)
    p = Path(str(track)).expanduser()
    if not p.exists():
        raise errors.FileMissingError(p)
    if p.is_dir():
        raise errors.UsageError(f"{p} is a folder: give one audio file or a catalog track id.")
    p = p.resolve()
    for t in catalog.tracks(include_missing=True):
        if Path(t.path) == p:
            return _Query(t, t.path, t.title or p.stem)
    from supervisor_app.infra.hashing import content_hash

    same = [t for t in catalog.find_by_hash(content_hash(p)) if t.status == "ok"]
    if same:
        return _Query(same[0], str(p), same[0].title or p.stem)
    from supervisor_app.media import probe

    if not probe(p).has_audio:  # a bad query file is named before anything about the catalog
        raise errors.NoAudioStreamError(p)
    return _Query(None, str(p), p.stem)


def _check_excerpt(excerpt_s, duration_s: Optional[float]) -> tuple[float, float]:
    a, b = (float(excerpt_s[0]), float(excerpt_s[1])) if excerpt_s[1] is not None else \
        (float(excerpt_s[0]), float(excerpt_s[0]) + EXCERPT_S)
    if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b <= a:
        raise errors.UsageError(f"The excerpt {a:g}–{b:g} s is not a valid time range (start ≥ 0, end after start).")
    if b - a < 3.0:
        raise errors.UsageError(f"The excerpt {a:g}–{b:g} s is too short: give at least 3 seconds (12 s works best).")
    if duration_s is not None and a >= duration_s - 0.5:
        raise errors.UsageError(f"The excerpt starts at {a:g} s but the track lasts only {duration_s:.1f} s.")
    if duration_s is not None:
        b = min(b, float(duration_s))
    return a, b


# --- filters --------------------------------------------------------------------------------------------------
def _analysed_tempo(catalog, track) -> Optional[float]:
    from supervisor_app.indexing.keys import beats_key

    try:
        rec = catalog.get_analysis(track.id, *beats_key())
    except errors.SupervisorError:
        return None
    if rec is None or not rec.result:
        return None
    bpm = rec.result.get("tempo_bpm")
    return float(bpm) if bpm else None


def _candidates(catalog, filters: Filters, query: _Query, exclude_query_artist: bool, include_self: bool):
    """{track id: (Track, bpm)} of the tracks that pass the filters."""
    f = Filters.from_dict(filters.to_dict())
    if exclude_query_artist:
        if query.track is not None and query.track.artist:
            f.exclude_artists = list(f.exclude_artists) + [query.track.artist]
    out = {}
    for t in catalog.tracks():
        if t.status != "ok":
            continue
        if not include_self and query.track is not None and t.id == query.track.id:
            continue
        bpm = t.bpm_tag if t.bpm_tag else (_analysed_tempo(catalog, t) if f.bpm_range is not None else None)
        if f.accepts(t, bpm=bpm):
            out[t.id] = (t, bpm)
    return out


def _row(t, bpm, score, rank, match=None, reasons=()) -> SimilarTrack:
    return SimilarTrack(rank=rank, track_id=int(t.id), path=t.path, title=t.title or Path(t.path).stem,
                        artist=t.artist or "", duration_s=t.duration_s, bpm=None if bpm is None else round(float(bpm), 1),
                        score=round(float(score), 4), match_start_s=None if match is None else round(match[0], 2),
                        match_end_s=None if match is None else round(match[1], 2), reasons=list(reasons))


# --- the YAMNet space -----------------------------------------------------------------------------------------
def _yamnet_version() -> str:
    from supervisor_app.features import get_extractor

    return get_extractor("yamnet").version


def _yamnet_query_frames(query: _Query, catalog, yv: str, progress: ProgressFn) -> np.ndarray:
    from supervisor_app.indexing.keys import YAMNET_FRAMES

    if query.track is not None:
        fr = catalog.get_embedding(query.track.id, YAMNET_FRAMES, yv)
        if fr is not None:
            return fr.astype(np.float32)
    from supervisor_app.features import extract_cached

    progress(0.05, "analysing the query with YAMNet")
    return extract_cached("yamnet", query.path).frames


def window_means(frames: np.ndarray, width: int) -> np.ndarray:
    """(T − width + 1, dim) means of every ``width`` consecutive rows (one row if T < width)."""
    f = np.asarray(frames, dtype=np.float64)
    if len(f) <= width:
        return f.mean(axis=0, keepdims=True)
    c = np.concatenate([np.zeros((1, f.shape[1])), np.cumsum(f, axis=0)])
    return (c[width:] - c[:-width]) / width


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return (b @ a) / np.maximum(np.linalg.norm(b, axis=-1) * np.linalg.norm(a), 1e-12)


def _search_yamnet(query: _Query, catalog, cands: dict, excerpt, progress: ProgressFn, should_cancel):
    from supervisor_app.indexing.keys import YAMNET_FRAMES, YAMNET_MEAN

    yv = _yamnet_version()
    scores: dict[int, tuple[float, Optional[tuple]]] = {}
    if excerpt is None:
        if query.track is not None and (q := catalog.get_embedding(query.track.id, YAMNET_MEAN, yv)) is not None:
            qv = q.astype(np.float64)
        else:
            qv = _yamnet_query_frames(query, catalog, yv, progress).mean(axis=0)
        ids, arrays = catalog.load_embeddings(YAMNET_MEAN, yv)
        keep = [(i, a) for i, a in zip(ids, arrays) if i in cands]
        if keep:
            sims = _cos(qv, np.stack([a for _, a in keep]))
            scores = {i: (float(s), None) for (i, _), s in zip(keep, sims)}
        return scores
    frames = _yamnet_query_frames(query, catalog, yv, progress)
    a, b = excerpt
    lo, hi = int(math.floor(a)), max(int(math.floor(a)) + 1, int(math.ceil(b)))
    qf = frames[lo:hi]
    if len(qf) == 0:
        raise errors.UsageError(f"The excerpt {a:g}–{b:g} s lies beyond the end of the query.")
    qv = qf.astype(np.float64).mean(axis=0)
    width = len(qf)
    for n, tid in enumerate(cands):
        if n % 50 == 0:
            check_cancelled(should_cancel, "The similar-track search")
        fr = catalog.get_embedding(tid, YAMNET_FRAMES, yv)
        if fr is None or len(fr) == 0:
            continue
        sims = _cos(qv, window_means(fr, width))
        j = int(np.argmax(sims))
        end = min(float(j + width), float(len(fr)))
        scores[tid] = (float(sims[j]), (float(j), end))
        if n % 25 == 0:
            progress(0.1 + 0.85 * n / max(1, len(cands)), "matching the excerpt")
    return scores


# --- the MuSimNet space ---------------------------------------------------------------------------------------
def musimnet_patch_embeddings(loaded, cqt_db: np.ndarray, hop_frames: int = PATCH_HOP_FRAMES
                              ) -> tuple[np.ndarray, np.ndarray]:
    """(starts (P,) frames, embeddings (P, d)) of the patches every ``hop_frames`` over a CQT."""
    from supervisor_app.musimnet import frontend
    from supervisor_app.musimnet.nets import embed_patches

    starts = patch_grid(cqt_db.shape[1], hop_frames)
    return starts, embed_patches(loaded.model, frontend.patches(cqt_db, starts))


def patch_grid(n_frames: int, hop_frames: int = PATCH_HOP_FRAMES) -> np.ndarray:
    """Patch start frames 0, hop, 2·hop, … while a whole patch fits (just 0 for a short track)."""
    from supervisor_app.musimnet import frontend

    return np.arange(0, max(1, int(n_frames) - frontend.PATCH_FRAMES + 1), int(hop_frames), dtype=np.int64)


def musimnet_file_embedding(loaded, path: str | Path, offset_s: float = 0.0, duration_s: float | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(track mean embedding (d,), patch starts in seconds (P,), patch embeddings (P, d)) of a file or window."""
    from supervisor_app.musimnet import frontend

    cqt = frontend.file_cqt_db(path, offset_s=offset_s, duration_s=duration_s)
    starts, emb = musimnet_patch_embeddings(loaded, cqt)
    return emb.mean(axis=0), starts / frontend.FRAME_RATE_HZ + offset_s, emb


def embed_catalog_musimnet(catalog, loaded, track_ids=None, progress: Optional[ProgressFn] = None,
                           should_cancel: Optional[ShouldCancel] = None) -> int:
    """Store the MuSimNet embeddings (track mean (d,) and patches (P, d) float16) of tracks lacking them.

    Returns how many tracks were embedded. A track that cannot be decoded is skipped (and reported
    again next time).
    """
    name, version = loaded.embedding_key()
    pname, pversion = loaded.patches_key()
    todo = set(catalog.embeddings_missing(name, version))
    if track_ids is not None:
        todo &= set(int(t) for t in track_ids)
    todo = sorted(todo)
    done = 0
    for i, tid in enumerate(todo):
        check_cancelled(should_cancel, "Embedding the catalog with MuSimNet")
        t = catalog.get_track(tid)
        try:
            mean, _, patches = musimnet_file_embedding(loaded, t.path)
        except errors.MediaError:
            continue
        with catalog.transaction():
            catalog.put_embedding(tid, name, version, mean.astype(np.float32))
            catalog.put_embedding(tid, pname, pversion, patches.astype(np.float16))
        done += 1
        count_progress(progress, i + 1, len(todo), f"MuSimNet: {t.title or Path(t.path).name}")
    return done


def _search_musimnet(loaded, query: _Query, catalog, cands: dict, excerpt, progress: ProgressFn, should_cancel):
    from supervisor_app.musimnet import frontend

    need = list(cands) + ([query.track.id] if query.track is not None else [])
    missing = set(catalog.embeddings_missing(*loaded.embedding_key())) & set(need)
    if missing:
        progress(0.05, f"embedding {len(missing)} catalog track(s) with MuSimNet (once)")
        embed_catalog_musimnet(catalog, loaded, missing, should_cancel=should_cancel,
                               progress=sub_progress(progress, 0.05, 0.65))
    name, version = loaded.embedding_key()
    pname, pversion = loaded.patches_key()
    scores: dict[int, tuple[float, Optional[tuple]]] = {}
    if excerpt is None:
        q = catalog.get_embedding(query.track.id, name, version) if query.track is not None else None
        if q is None:
            progress(0.7, "embedding the query with MuSimNet")
            q, _, _ = musimnet_file_embedding(loaded, query.path)
        ids, arrays = catalog.load_embeddings(name, version)
        for i, a in zip(ids, arrays):
            if i in cands:
                scores[i] = (1.0 - float(np.linalg.norm(a.astype(np.float64) - q)) / 2.0, None)
        return scores
    a, b = excerpt
    q, _, _ = musimnet_file_embedding(loaded, query.path, offset_s=a, duration_s=b - a)
    for tid in cands:
        pe = catalog.get_embedding(tid, pname, pversion)
        if pe is None or len(pe) == 0:
            continue
        t = cands[tid][0]
        d = np.linalg.norm(pe.astype(np.float64) - q[None], axis=1)
        j = int(np.argmin(d))
        s0 = float(j * PATCH_HOP_FRAMES / frontend.FRAME_RATE_HZ)
        end = s0 + frontend.PATCH_S if t.duration_s is None else min(s0 + frontend.PATCH_S, float(t.duration_s))
        scores[tid] = (1.0 - float(d[j]) / 2.0, (s0, end))
    return scores


# --- the search -------------------------------------------------------------------------------------------------
def similar(track, catalog, k: int = 10, filters: Optional[Filters] = None, model=None, excerpt_s=None, *,
            exclude_query_artist: bool = False, include_self: bool = False,
            progress: Optional[ProgressFn] = None, should_cancel: Optional[ShouldCancel] = None) -> SimilarResult:
    """The ``k`` catalog tracks most similar to ``track`` (a catalog id or an audio file path).

    ``excerpt_s=(from_s, to_s)`` queries with that part of the track only (``to_s=None``: 12 s);
    ``model`` names a MuSimNet (``"none"`` forces the frozen YAMNet space; None: the catalog's
    remembered model, else YAMNet); ``exclude_query_artist`` leaves out the query's own artist;
    the query track itself is left out unless ``include_self``.
    """
    progress = as_progress(progress)
    if int(k) < 1:
        raise errors.UsageError("Ask for at least one similar track (k ≥ 1).")
    filters = filters or Filters()
    query = _resolve_query(track, catalog)
    loaded = _load_model(model, catalog)
    excerpt = None
    if excerpt_s is not None:
        dur = query.track.duration_s if query.track is not None else None
        if dur is None:
            from supervisor_app.media import probe

            dur = probe(query.path).duration_s
        excerpt = _check_excerpt(excerpt_s, dur)
    cands = _candidates(catalog, filters, query, exclude_query_artist, include_self)
    if not catalog.tracks():
        raise errors.EmptyCatalogError()
    if not cands:
        raise errors.EmptyCatalogError("track that passes the filters", "loosen the filters")
    notes = []
    if exclude_query_artist and (query.track is None or not query.track.artist):
        notes.append("The query has no artist in the catalog, so no artist was excluded.")
    if loaded is None:
        scores = _search_yamnet(query, catalog, cands, excerpt, progress, should_cancel)
        space = YAMNET_SPACE
        space_note = ("frozen YAMNet (AudioSet) embedding, mean over 1 s frames, cosine similarity — out of the box, "
                      "not trained on your tags; select a trained MuSimNet with --model NAME")
        if not scores:
            raise errors.EmptyCatalogError("tracks analysed for similarity", "run 'supervisor-app catalog index' first")
        missing = len(cands) - len(scores)
        if missing:
            notes.append(f"{missing} track(s) that pass the filters are not indexed yet and were left out.")
    else:
        scores = _search_musimnet(loaded, query, catalog, cands, excerpt, progress, should_cancel)
        space = f"musimnet:{loaded.name}"
        oracle = loaded.card.data.get("oracle", "the tags it was trained on")
        space_note = (f"MuSimNet {loaded.name!r} ({loaded.card.network.get('arch')}), trained to reproduce a tag "
                      f"similarity: {oracle}")
        if not scores:
            raise errors.EmptyCatalogError("tracks that MuSimNet could decode", "check the files with 'catalog stats'")
    order = sorted(scores, key=lambda i: (-scores[i][0], i))[:int(k)]
    results = []
    for rank, tid in enumerate(order, start=1):
        t, bpm = cands[tid]
        s, match = scores[tid]
        reasons = []
        if match is not None:
            reasons.append(f"best-matching part {match[0]:.0f}–{match[1]:.0f} s")
        if bpm is None:  # shown in every listing: the measured tempo when the file has no BPM tag
            bpm = _analysed_tempo(catalog, t)
        results.append(_row(t, bpm, s, rank, match, reasons))
    progress(1.0, "done")
    qd = {"track_id": None if query.track is None else int(query.track.id), "path": query.path, "title": query.title,
          "excerpt_s": None if excerpt is None else [round(excerpt[0], 2), round(excerpt[1], 2)]}
    return SimilarResult(query=qd, space=space, space_note=space_note, mode="track" if excerpt is None else "excerpt",
                         results=results, notes=notes, n_candidates=len(scores))
