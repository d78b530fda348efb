"""Two-stage ranking: a centroid prefilter keeps the top N tracks, an alignment distance re-ranks them.

The prefilter ranks by the thesis's centroid distance ‖c − q̄‖ (c: mean of a track's normalised
segment embeddings, not re-normalised; q̄: the same for the query), with exactly these semantics in
both methods:

* ``"exact"``: ‖c − q̄‖ for every track, computed from differences (numba, threads), top N by
  ``argpartition``; ties at the N-th place are kept in any order, then the N are sorted by score and
  bank position.
* ``"ivf"``: a FAISS inverted-file index with 8-bit scalar quantisation, L2 metric on the same raw
  centroids, keyed by track id; it returns ``refine × N`` candidates that are re-scored exactly, so only
  recall (not the order) is approximate. Kept in sync with the bank incrementally (:meth:`Prefilter.sync`).

``"auto"`` uses the exact scan below ``ANN_MIN_TRACKS`` tracks (or when faiss is missing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from supervisor_app.infra.errors import MissingExtraError, UsageError
from supervisor_app.infra.fileio import atomic_write_npz
from supervisor_app.ranking.bank import SegmentBank, l2_normalize_rows
from supervisor_app.ranking.distances import _centroid_scores, catalog_scores
from supervisor_app.ranking.names import distance_name

ANN_MIN_TRACKS = 100_000  # below this the exact scan is fast enough (see benchmarks/README.md)
DEFAULT_TOP_N = 300
PREFILTER_FORMAT_VERSION = 1
_HASH_CHUNK = 1 << 16


def _faiss():
    try:
        import faiss  # noqa: PLC0415 - optional, heavy
    except ImportError:
        return None
    return faiss


def _row_hashes(centroids: np.ndarray) -> np.ndarray:
    """(n,) uint64 per-row content hash (wrapping weighted sum of the float32 bit patterns)."""
    d = centroids.shape[1]
    mult = np.random.default_rng(0x5EED).integers(1, 2**63, size=d, dtype=np.uint64) | np.uint64(1)
    out = np.empty(centroids.shape[0], dtype=np.uint64)
    for a in range(0, centroids.shape[0], _HASH_CHUNK):
        bits = np.ascontiguousarray(centroids[a:a + _HASH_CHUNK], dtype=np.float32).view(np.uint32)
        out[a:a + _HASH_CHUNK] = (bits.astype(np.uint64) * mult).sum(axis=1, dtype=np.uint64)
    return out


def _query_centroid(query_emb: np.ndarray, bank: SegmentBank) -> np.ndarray:
    q = l2_normalize_rows(query_emb, what="video query embedding")
    if q.shape[1] != bank.dim:
        raise UsageError(f"The query embeddings are {q.shape[1]}-d but the catalog's are {bank.dim}-d: "
                         "were they made by the same model?")
    return q.mean(axis=0)


@dataclass(frozen=True)
class PrefilterResult:
    """Candidates kept by the prefilter, best first.

    ``positions``: bank positions (int64); ``scores``: −centroid distance (float64, higher is better);
    ``method``: "exact" or "ivf"; ``n_tracks``: how many tracks the bank holds.
    """

    positions: np.ndarray
    scores: np.ndarray
    method: str
    n_tracks: int


class Prefilter:
    """Centroid prefilter over a :class:`SegmentBank` (see the module doc).

    ``method``: "auto", "exact" or "ivf". ``nprobe``: inverted lists visited per query (ivf; default
    ``max(16, nlist // 16)``); ``refine``: candidates fetched from the index per kept track (ivf).
    """

    def __init__(self, bank: SegmentBank, method: str = "auto", *, ann_min_tracks: int = ANN_MIN_TRACKS,
                 nprobe: int | None = None, refine: int = 2, seed: int = 0):
        method = str(method).lower()
        if method not in ("auto", "exact", "ivf", "ann"):
            raise UsageError(f"Unknown prefilter method {method!r}: use auto, exact or ivf.")
        if method == "ann":
            method = "ivf"
        if method == "ivf" and _faiss() is None:
            raise MissingExtraError("The approximate (IVF) prefilter", "faiss-cpu")
        if method == "auto":
            method = "ivf" if (bank.n_tracks >= ann_min_tracks and _faiss() is not None) else "exact"
        self.method = method
        self.refine = max(1, int(refine))
        self._nprobe = nprobe
        self._seed = seed
        self.bank = bank
        self.fingerprint = bank.fingerprint
        self.index = None
        self._ids = self._hashes = None
        if method == "ivf":
            self._build(bank)

    # ------------------------------------------------------------------ ivf index
    def _build(self, bank: SegmentBank) -> None:
        faiss = _faiss()
        n, d = bank.n_tracks, bank.dim
        nlist = int(min(max(16, round(math.sqrt(n))), 8192, max(1, n // 39)))
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_L2)
        rng = np.random.default_rng(self._seed)
        n_train = min(n, 50 * nlist)
        sample = np.sort(rng.choice(n, size=n_train, replace=False)) if n_train < n else np.arange(n)
        index.cp.seed = self._seed
        index.train(np.ascontiguousarray(bank.centroids[sample], dtype=np.float32))
        for a in range(0, n, _HASH_CHUNK):
            index.add_with_ids(np.ascontiguousarray(bank.centroids[a:a + _HASH_CHUNK], dtype=np.float32),
                               bank.track_ids[a:a + _HASH_CHUNK])
        self.index = index
        self._set_state(bank)

    def _set_state(self, bank: SegmentBank) -> None:
        order = np.argsort(bank.track_ids, kind="stable")
        self._ids = bank.track_ids[order]
        self._hashes = _row_hashes(bank.centroids)[order]
        self.bank, self.fingerprint = bank, bank.fingerprint

    @property
    def nlist(self) -> int:
        return int(self.index.nlist) if self.index is not None else 0

    @property
    def nprobe(self) -> int:
        if self._nprobe is not None:
            return int(self._nprobe)
        return max(16, self.nlist // 16)

    def in_sync(self, bank: SegmentBank) -> bool:
        """True when this prefilter was built from (or synced to) exactly this bank content."""
        return self.fingerprint == bank.fingerprint

    def sync(self, bank: SegmentBank) -> dict:
        """Bring the prefilter up to date with ``bank``: add new tracks, remove deleted ones, replace
        tracks whose centroid changed (by id). Rebuilds the IVF index when over half the catalog changed.
        Returns counts ``{"added", "removed", "changed", "rebuilt"}``.
        """
        report = {"added": 0, "removed": 0, "changed": 0, "rebuilt": False}
        if self.in_sync(bank):
            self.bank = bank
            return report
        if self.method != "ivf":
            self.bank, self.fingerprint = bank, bank.fingerprint
            report["rebuilt"] = True
            return report
        order = np.argsort(bank.track_ids, kind="stable")
        new_ids = bank.track_ids[order]
        new_hash = _row_hashes(bank.centroids)[order]
        common, i_old, i_new = np.intersect1d(self._ids, new_ids, assume_unique=True, return_indices=True)
        changed = common[self._hashes[i_old] != new_hash[i_new]]
        removed = np.setdiff1d(self._ids, new_ids, assume_unique=True)
        added = np.setdiff1d(new_ids, self._ids, assume_unique=True)
        report.update(added=int(len(added)), removed=int(len(removed)), changed=int(len(changed)))
        if len(added) + len(removed) + len(changed) > bank.n_tracks // 2:
            self._build(bank)
            report["rebuilt"] = True
            return report
        drop = np.concatenate([removed, changed]).astype(np.int64)
        if len(drop):
            self.index.remove_ids(drop)
        put = np.concatenate([added, changed]).astype(np.int64)
        if len(put):
            pos = bank.positions_of(put)
            self.index.add_with_ids(np.ascontiguousarray(bank.centroids[pos], dtype=np.float32), put)
        self._set_state(bank)
        return report

    # ------------------------------------------------------------------ search
    def search(self, query_emb: np.ndarray, top_n: int = DEFAULT_TOP_N) -> PrefilterResult:
        """The ``top_n`` tracks closest to the query by centroid distance (all when the bank is smaller)."""
        bank = self.bank
        if not self.in_sync(bank):  # pragma: no cover - defensive; sync() keeps them equal
            self.sync(bank)
        top_n = int(top_n)
        if top_n < 1:
            raise UsageError("The prefilter must keep at least one candidate.")
        qc = _query_centroid(query_emb, bank)
        n = bank.n_tracks
        if self.method == "ivf" and top_n < n:
            self.index.nprobe = self.nprobe
            k = min(n, top_n * self.refine)
            _, ids = self.index.search(qc.astype(np.float32)[None, :], k)
            ids = ids[0][ids[0] >= 0]
            cand = bank.positions_of(ids)
        elif top_n < n:
            full = catalog_scores(query_emb, bank, "centroid")  # exact distances, numba, threaded
            cand = np.argpartition(-full, top_n - 1)[:top_n].astype(np.int64)
        else:
            cand = np.arange(n, dtype=np.int64)
        scores = _centroid_scores(bank.centroids, cand, qc.astype(bank.centroids.dtype))
        order = np.lexsort((cand, -scores))[:top_n]
        return PrefilterResult(positions=cand[order], scores=scores[order], method=self.method, n_tracks=n)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the prefilter (and its FAISS index) atomically to ``path`` (.npz)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(version=np.array(PREFILTER_FORMAT_VERSION), method=np.array(self.method),
                      fingerprint=np.array(self.fingerprint), refine=np.array(self.refine),
                      nprobe=np.array(-1 if self._nprobe is None else int(self._nprobe)))
        if self.method == "ivf":
            arrays.update(index=_faiss().serialize_index(self.index), ids=self._ids, hashes=self._hashes)
        atomic_write_npz(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, bank: SegmentBank) -> "Prefilter":
        """Read a prefilter saved by :meth:`save` and sync it to ``bank`` (incrementally if it changed)."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"No prefilter index at {path}: it is rebuilt when the catalog is indexed.")
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) != PREFILTER_FORMAT_VERSION:
                    raise UsageError(f"The prefilter index {path.name!r} has an older format: rebuild it.")
                method, fingerprint = str(z["method"]), str(z["fingerprint"])
                nprobe = int(z["nprobe"])
                self = cls.__new__(cls)
                self.method, self.refine = method, int(z["refine"])
                self._nprobe = None if nprobe < 0 else nprobe
                self._seed, self.index = 0, None
                self._ids = self._hashes = None
                if method == "ivf":
                    faiss = _faiss()
                    if faiss is None:
                        raise MissingExtraError("The approximate (IVF) prefilter", "faiss-cpu")
                    self.index = faiss.deserialize_index(np.array(z["index"]))
                    self._ids, self._hashes = z["ids"], z["hashes"]
        except (UsageError, MissingExtraError):
            raise
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"The file {path.name!r} is not a readable prefilter index ({exc}).") from exc
        self.bank, self.fingerprint = bank, fingerprint
        self.sync(bank)
        return self


# ----------------------------------------------------------------------------- two stages
@dataclass(frozen=True)
class StageInfo:
    """What each stage decided for one result.

    The prefilter decided *membership* (kept at ``prefilter_rank`` of ``n_candidates`` from
    ``n_tracks`` by centroid distance, method ``prefilter_method``: "exact", "ivf", or "all" when the
    bank is not larger than N); the re-rank decided the *order* (``rank`` by ``distance``, score
    ``rerank_score``). For ``distance == "centroid"`` the prefilter is the ranking itself.
    """

    rank: int
    distance: str
    rerank_score: float
    prefilter_method: str
    prefilter_rank: int
    prefilter_score: float
    n_candidates: int
    n_tracks: int

    @property
    def decided_by(self) -> str:
        return "prefilter" if self.distance == "centroid" else "rerank"

    def describe(self) -> str:
        kept = ("all tracks kept" if self.prefilter_method == "all" else
                f"kept by the {self.prefilter_method} centroid prefilter at rank {self.prefilter_rank} of "
                f"{self.n_candidates} (from {self.n_tracks} tracks)")
        return f"{kept}; ranked {self.rank} by {self.distance} (score {self.rerank_score:.4f})"


class Ranked(NamedTuple):
    """One two-stage result; unpacks as ``(track_id, score, stage)``."""

    track_id: int
    score: float
    stage: StageInfo


def two_stage(query_emb: np.ndarray, bank: SegmentBank, distance: str = "nw-dtw", top_n: int = DEFAULT_TOP_N,
              k: int = 10, *, prefilter: Prefilter | None = None, indel: float | None = None,
              backend: str = "numba") -> list[Ranked]:
    """Prefilter the bank to ``top_n`` tracks by centroid distance, re-rank them by ``distance``, keep ``k``.

    Pass a long-lived ``prefilter`` (built and saved when the catalog is indexed; it is synced to
    ``bank`` here if the bank changed). Without one the exact centroid scan is used: it needs no
    index (≈0.1 s per query at 1M tracks) whereas building an IVF index per call would take a minute.
    Ties in the re-rank keep the prefilter's order.
    """
    dist = distance_name(distance)
    if int(k) < 1:
        raise UsageError("Ask for at least one recommendation (k ≥ 1).")
    if prefilter is None:
        prefilter = Prefilter(bank, "exact")
    elif not prefilter.in_sync(bank) or prefilter.bank is not bank:
        prefilter.sync(bank)
    cand = prefilter.search(query_emb, top_n)
    method = "all" if len(cand.positions) == bank.n_tracks else cand.method
    if dist == "centroid":
        scores = cand.scores
    else:
        scores = catalog_scores(query_emb, bank, dist, indices=cand.positions, indel=indel, backend=backend)
    order = np.lexsort((np.arange(len(scores)), -scores))[: int(k)]
    out = []
    for rank, c in enumerate(order, start=1):
        pos = int(cand.positions[c])
        info = StageInfo(rank=rank, distance=dist, rerank_score=float(scores[c]), prefilter_method=method,
                         prefilter_rank=int(c) + 1, prefilter_score=float(cand.scores[c]),
                         n_candidates=len(cand.positions), n_tracks=bank.n_tracks)
        out.append(Ranked(int(bank.track_ids[pos]), float(scores[c]), info))
    return out
