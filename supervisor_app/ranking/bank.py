"""The catalog's segment embeddings packed for fast ranking: one contiguous matrix, tracks sorted by length.

A :class:`SegmentBank` holds every catalog track's sequence of segment embeddings (Seg-VM-Net music
branch, one row per music segment) as one ``(total_segments, d)`` matrix of L2-normalised rows, with
``offsets`` telling where each track's rows start. Tracks are stored **sorted by segment count** (ties
keep the input order), so every length bucket is a contiguous block of equal-length tracks and the
batched recurrences of :mod:`supervisor_app.ranking.distances` waste no padding.

Bank positions (0 … n_tracks-1) are what ranking functions index and return; ``track_ids[pos]`` maps a
position back to the catalog's track id and :meth:`SegmentBank.positions_of` maps ids to positions.
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from numba import njit

from supervisor_app.infra.errors import UsageError
from supervisor_app.infra.fileio import atomic_write_npz

BANK_FORMAT_VERSION = 1
_ALLOWED_DTYPES = (np.float16, np.float32, np.float64)


def l2_normalize_rows(x: np.ndarray, *, what: str = "embedding") -> np.ndarray:
    """Rows of ``x`` (K, d) divided by their Euclidean norm (computed in float64, returned as float64).

    Raises :class:`UsageError` for an empty sequence, a non-finite value or an all-zero row (a zero
    vector has no direction, so it cannot be compared by cosine similarity).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise UsageError(f"The {what} must be a non-empty (segments, dimension) matrix, got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise UsageError(f"The {what} contains NaN or infinite values.")
    norms = np.sqrt(np.einsum("ij,ij->i", a, a))
    if np.any(norms == 0.0):
        raise UsageError(f"The {what} has an all-zero segment vector, which cannot be normalised.")
    return a / norms[:, None]


@njit(cache=True, nogil=True)
def _half_bits_to_float32(h, out):
    bits = out.view(np.uint32)
    for i in range(h.shape[0]):
        x = np.uint32(h[i])
        # sign to bit 31; exponent+mantissa shifted into float32 place with the float16 bias (15),
        # then one multiply by 2^112 rebiases to float32's (127): exact for normals and subnormals.
        bits[i] = ((x & np.uint32(0x8000)) << np.uint32(16)) | ((x & np.uint32(0x7FFF)) << np.uint32(13))
    scale = np.float32(2.0 ** 112)
    for i in range(h.shape[0]):
        out[i] = out[i] * scale


def half_to_float32(a: np.ndarray) -> np.ndarray:
    """Exact float16 → float32 conversion of finite values, ~10× faster than ``astype`` here (numba)."""
    a = np.ascontiguousarray(a)
    out = np.empty(a.shape, dtype=np.float32)
    _half_bits_to_float32(a.view(np.uint16).reshape(-1), out.reshape(-1))
    return out


def as_work_rows(a: np.ndarray, dtype) -> np.ndarray:
    """Rows as a contiguous ``dtype`` array (float16 goes through :func:`half_to_float32`)."""
    a = np.asarray(a)
    if a.dtype == np.float16 and np.dtype(dtype) == np.float32:
        return half_to_float32(a)
    return np.ascontiguousarray(a, dtype=dtype)


def _fingerprint(track_ids: np.ndarray, offsets: np.ndarray, centroids: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(track_ids, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(offsets, dtype=np.int64).tobytes())
    h.update(str(centroids.shape).encode())
    # Centroids summarise the embeddings: a re-trained model or a re-indexed track changes them.
    h.update(np.ascontiguousarray(centroids, dtype=np.float32).tobytes())
    return h.hexdigest()


@dataclass(eq=False)
class SegmentBank:
    """Packed segment embeddings of a catalog (tracks sorted by segment count).

    Attributes:
        emb: (total_segments, d) L2-normalised rows, float32 by default (float16 to halve memory for
            very large catalogs, float64 for exact tests). May be a read-only memory map.
        offsets: (n_tracks + 1,) int64; track at position p owns rows ``offsets[p]:offsets[p+1]``.
        track_ids: (n_tracks,) int64 catalog ids, in bank order.
        centroids: (n_tracks, d) float32 (float64 for a float64 bank): mean of each track's
            normalised segment rows (not re-normalised: the thesis's centroid distance uses the raw mean).
        fingerprint: hex digest of ids, offsets and centroids, i.e. of everything the centroid
            prefilter depends on (the ANN index compares it to know when to resync); reordering the
            segments inside a track without changing their mean does not change it.
    """

    emb: np.ndarray
    offsets: np.ndarray
    track_ids: np.ndarray
    centroids: np.ndarray
    fingerprint: str = ""
    _pos_of: tuple | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, track_ids: Sequence[int] | np.ndarray, seqs: Iterable[np.ndarray],
                    dtype=np.float32) -> "SegmentBank":
        """Build a bank from ``track_ids[i]`` and its ``(K_i, d)`` segment embeddings ``seqs[i]``.

        Rows are L2-normalised (in float64, then stored as ``dtype``); centroids are the float64 mean
        of the normalised rows. Tracks are reordered by segment count (stable). Raises
        :class:`UsageError` on duplicate ids, mismatched dimensions, empty or zero/NaN sequences.
        """
        dtype = np.dtype(dtype)
        if dtype.type not in _ALLOWED_DTYPES:
            raise UsageError(f"A segment bank stores float16, float32 or float64 rows, not {dtype}.")
        ids = np.asarray(list(track_ids) if not isinstance(track_ids, np.ndarray) else track_ids)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise UsageError("Track ids must be a flat list of integers.")
        ids = ids.astype(np.int64)
        seqs = list(seqs)
        if len(seqs) != len(ids):
            raise UsageError(f"Got {len(ids)} track ids but {len(seqs)} embedding sequences.")
        if len(ids) == 0:
            raise UsageError("A segment bank needs at least one track.")
        if len(np.unique(ids)) != len(ids):
            raise UsageError("Track ids in a segment bank must be unique.")
        normed = []
        dim = None
        for tid, seq in zip(ids, seqs):
            a = np.asarray(seq)
            if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
                raise UsageError(f"The segment embedding of track {int(tid)} must be a non-empty "
                                 f"(segments, dimension) matrix, got shape {a.shape}.")
            if dim is None:
                dim = a.shape[1]
            elif a.shape[1] != dim:
                raise UsageError(f"Track {int(tid)} has {a.shape[1]}-d embeddings but the others are {dim}-d.")
            normed.append(l2_normalize_rows(a, what=f"segment embedding of track {int(tid)}"))
        lengths = np.array([a.shape[0] for a in normed], dtype=np.int64)
        return cls.from_packed(ids, np.concatenate(normed), lengths, dtype=dtype)

    @classmethod
    def from_packed(cls, track_ids: Sequence[int] | np.ndarray, emb: np.ndarray, lengths: Sequence[int],
                    dtype=np.float32, out: np.ndarray | None = None) -> "SegmentBank":
        """Build a bank from rows already concatenated track after track: ``emb`` (R, d), where track i
        owns the ``lengths[i]`` rows after those of track i−1. Rows are normalised chunk by chunk
        (float64) and written into ``out`` when given (e.g. a disk-backed ``np.lib.format.open_memmap``
        of shape (R, d) for catalogs larger than memory), else into a new array of ``dtype``.
        """
        ids = np.asarray(track_ids).astype(np.int64).reshape(-1)
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if len(ids) == 0:
            raise UsageError("A segment bank needs at least one track.")
        if len(lengths) != len(ids):
            raise UsageError(f"Got {len(ids)} track ids but {len(lengths)} segment counts.")
        if np.any(lengths < 1):
            raise UsageError(f"Track {int(ids[np.argmax(lengths < 1)])} has no segment embedding.")
        if len(np.unique(ids)) != len(ids):
            raise UsageError("Track ids in a segment bank must be unique.")
        if emb.ndim != 2 or emb.shape[0] != int(lengths.sum()):
            raise UsageError(f"{int(lengths.sum())} segment rows were announced but the matrix has shape {emb.shape}.")
        dtype = np.dtype(dtype if out is None else out.dtype)
        if dtype.type not in _ALLOWED_DTYPES:
            raise UsageError(f"A segment bank stores float16, float32 or float64 rows, not {dtype}.")
        n, dim = len(ids), emb.shape[1]
        order = np.argsort(lengths, kind="stable")
        src_off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=src_off[1:])
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths[order], out=offsets[1:])
        if out is None:
            out = np.empty((int(offsets[-1]), dim), dtype=dtype)
        elif out.shape != (int(offsets[-1]), dim):
            raise UsageError(f"The output matrix must have shape {(int(offsets[-1]), dim)}, not {out.shape}.")
        cdtype = np.float64 if dtype == np.float64 else np.float32
        centroids = np.empty((n, dim), dtype=cdtype)
        identity = bool(np.all(order == np.arange(n)))
        a = 0
        while a < n:  # chunks of about 64k rows, in bank order
            b = int(np.searchsorted(offsets, offsets[a] + (1 << 16), side="right")) - 1
            b = min(max(b, a + 1), n)
            chunk = order[a:b]
            if identity:
                rows = np.asarray(emb[src_off[a]:src_off[b]])
            else:
                lens = lengths[chunk]
                idx = np.repeat(src_off[chunk] - (offsets[a:b] - offsets[a]), lens) + np.arange(
                    int(lens.sum()), dtype=np.int64)
                rows = np.asarray(emb[idx])
            normed = l2_normalize_rows(rows, what="segment embedding")
            out[offsets[a]:offsets[b]] = normed
            local = offsets[a:b] - offsets[a]
            centroids[a:b] = np.add.reduceat(normed, local, axis=0) / lengths[chunk][:, None]
            a = b
        tids = ids[order]
        return cls(emb=out, offsets=offsets, track_ids=tids, centroids=centroids,
                   fingerprint=_fingerprint(tids, offsets, centroids))

    def __post_init__(self):
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64)
        if not self.fingerprint:
            self.fingerprint = _fingerprint(self.track_ids, self.offsets, self.centroids)

    # ------------------------------------------------------------------ shape
    @property
    def n_tracks(self) -> int:
        return int(self.track_ids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.emb.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """(n_tracks,) int64 segment count of each track, non-decreasing."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.n_tracks

    @property
    def buckets(self) -> list[tuple[int, int, int]]:
        """Length buckets as ``(segment_count, first_pos, stop_pos)``: contiguous, zero padding."""
        lens = self.lengths
        starts = np.flatnonzero(np.r_[True, lens[1:] != lens[:-1]])
        stops = np.r_[starts[1:], len(lens)]
        return [(int(lens[a]), int(a), int(b)) for a, b in zip(starts, stops)]

    def nbytes(self) -> int:
        """Bytes held by the arrays (a memory-mapped ``emb`` counts although it lives in the page cache)."""
        return int(self.emb.nbytes + self.offsets.nbytes + self.track_ids.nbytes + self.centroids.nbytes)

    # ------------------------------------------------------------------ lookup
    def positions_of(self, track_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Bank positions (int64) of the given track ids; raises :class:`UsageError` for an unknown id."""
        if self._pos_of is None:
            order = np.argsort(self.track_ids, kind="stable")
            self._pos_of = (self.track_ids[order], order)
        sorted_ids, order = self._pos_of
        want = np.asarray(list(track_ids) if not isinstance(track_ids, np.ndarray) else track_ids,
                          dtype=np.int64).reshape(-1)
        at = np.searchsorted(sorted_ids, want)
        at_c = np.minimum(at, len(sorted_ids) - 1)
        bad = (at >= len(sorted_ids)) | (sorted_ids[at_c] != want)
        if np.any(bad):
            raise UsageError(f"Track {int(want[bad][0])} is not in the segment bank (index the catalog again).")
        return order[at_c].astype(np.int64)

    def segments(self, pos: int) -> np.ndarray:
        """(K, d) normalised segment rows of the track at bank position ``pos`` (a view)."""
        return self.emb[self.offsets[pos]:self.offsets[pos + 1]]

    def segments_of(self, track_id: int) -> np.ndarray:
        return self.segments(int(self.positions_of([track_id])[0]))

    def gather(self, positions: np.ndarray, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the tracks at ``positions`` packed as ``(rows (R, d) dtype, local offsets (m+1,))``."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = self.offsets[positions]
        lens = self.offsets[positions + 1] - starts
        local = np.zeros(len(positions) + 1, dtype=np.int64)
        np.cumsum(lens, out=local[1:])
        if len(positions) == 0:
            return np.zeros((0, self.dim), dtype=dtype), local
        # Row indices of every requested track, vectorised: start of each track + 0..len-1.
        rows = np.repeat(starts - local[:-1], lens) + np.arange(local[-1], dtype=np.int64)
        return as_work_rows(self.emb[rows], dtype), local

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the bank to ``path`` (.npz, uncompressed so it can be memory-mapped) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_npz(path, emb=np.asarray(self.emb), offsets=self.offsets, track_ids=self.track_ids,
                         centroids=self.centroids, fingerprint=np.array(self.fingerprint),
                         version=np.array(BANK_FORMAT_VERSION))
        return path

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> "SegmentBank":
        """Read a bank written by :meth:`save`; ``mmap=True`` maps ``emb`` read-only instead of reading it.

        Raises :class:`UsageError` if the file is missing or not a segment bank.
        """
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"No segment bank at {path}: index the catalog first.")
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["version"])
                if version != BANK_FORMAT_VERSION:
                    raise UsageError(f"The segment bank {path.name!r} has format {version}; this version "
                                     f"reads format {BANK_FORMAT_VERSION}: index the catalog again.")
                offsets, track_ids = z["offsets"], z["track_ids"]
                centroids, fingerprint = z["centroids"], str(z["fingerprint"])
                emb = _mmap_npz_member(path, "emb") if mmap else z["emb"]
        except UsageError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise UsageError(f"The file {path.name!r} is not a readable segment bank ({exc}).") from exc
        return cls(emb=emb, offsets=offsets, track_ids=track_ids, centroids=centroids,
                   fingerprint=fingerprint)


def _mmap_npz_member(path: Path, name: str) -> np.ndarray:
    """Memory-map one uncompressed array stored in an .npz (np.load ignores mmap_mode for .npz)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"member {name} is compressed")
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError("bad zip local header")
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = reader(f)
        data_offset = f.tell()
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, offset=data_offset,
                     order="F" if fortran else "C")
