"""MuSimNet's data: a :class:`PatchBank` of CQT excerpts per track (uint8, see :mod:`.frontend`), the
artist-disjoint 60/20/20 split (:func:`artist_disjoint_split`), and :class:`PatchSampler`, which cuts
512-frame patches of bank tracks on the device."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, check_cancelled, count_progress
from supervisor_app.musimnet import frontend


SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass
class PatchBank:
    """CQT excerpts of N tracks: ``chunks`` (N, C, 96, L) uint8 (L ≥ 512), with the tracks' keys."""

    chunks: np.ndarray
    keys: list  # per track: catalog id, content hash or any label

    def __post_init__(self):
        c = np.asarray(self.chunks)
        if c.dtype != np.uint8 or c.ndim != 4 or c.shape[2] != frontend.N_BINS or c.shape[3] < frontend.PATCH_FRAMES:
            raise ValueError(f"chunks must be (N, C, 96, L >= 512) uint8, got {c.shape} {c.dtype}")
        if len(self.keys) != len(c):
            raise ValueError("one key per track is needed")
        self.chunks = c

    def __len__(self) -> int:
        return len(self.chunks)

    def subset(self, idx: Sequence[int]) -> "PatchBank":
        idx = np.asarray(idx, dtype=np.int64)
        return PatchBank(self.chunks[idx], [self.keys[i] for i in idx])

    def save(self, path: str | Path) -> None:
        from supervisor_app.infra.fileio import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, chunks=self.chunks, keys=np.asarray([str(k) for k in self.keys]))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "PatchBank":
        with np.load(path) as z:
            return cls(z["chunks"], [str(k) for k in z["keys"]])


def build_bank(paths_: Sequence[str | Path], keys: Sequence, n_chunks: int = 8, chunk_frames: int = 640,
               durations_s: Sequence[float | None] | None = None, content_hashes: Sequence[str] | None = None,
               cache=None, progress: ProgressFn | None = None,
               should_cancel: ShouldCancel | None = None) -> PatchBank:
    """CQT excerpts of audio files (``n_chunks`` windows of ``chunk_frames`` spread over each file).

    With ``cache`` (an :class:`supervisor_app.infra.cache.AnalysisCache`) and ``content_hashes``, each file's
    excerpts are computed once and then read back.
    """
    version = f"{frontend.VERSION}-{n_chunks}x{chunk_frames}"
    out = np.zeros((len(paths_), n_chunks, frontend.N_BINS, chunk_frames), dtype=np.uint8)
    for i, p in enumerate(paths_):
        check_cancelled(should_cancel, "Computing the CQT excerpts")
        h = content_hashes[i] if content_hashes is not None else None
        arr = cache.get_array(h, "musimnet-cqt", version) if cache is not None and h else None
        if arr is None or arr.shape != out.shape[1:]:
            d = durations_s[i] if durations_s is not None else None
            arr = frontend.track_chunks(p, n_chunks, chunk_frames, duration_s=d)
            if cache is not None and h:
                cache.put_array(h, "musimnet-cqt", version, arr)
        out[i] = arr
        count_progress(progress, i + 1, len(paths_), f"CQT of {Path(str(p)).name}")
    return PatchBank(out, list(keys))


def artist_disjoint_split(groups: Sequence[str], fractions=SPLIT_FRACTIONS, seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track indices of (train, validation, test), no group in two splits, sizes close to ``fractions``.

    Groups are visited largest first (random order among equal sizes) and each goes to the split
    furthest below its target size. Raises :class:`UsageError` with fewer than 3 groups.
    """
    groups = [str(g) for g in groups]
    uniq = sorted(set(groups))
    if len(uniq) < 3:
        raise errors.UsageError(
            f"An artist-disjoint train/validation/test split needs tracks of at least 3 artists; found {len(uniq)}.")
    rng = np.random.default_rng(seed)
    uniq = [uniq[i] for i in rng.permutation(len(uniq))]
    size = {g: 0 for g in uniq}
    for g in groups:
        size[g] += 1
    order = sorted(uniq, key=lambda g: -size[g])  # stable: shuffled order among ties
    target = np.asarray(fractions, dtype=np.float64) / np.sum(fractions) * len(groups)
    have = np.zeros(3)
    where = {}
    for i, g in enumerate(order):
        deficit = (target - have) / np.maximum(target, 1e-9)
        empty = [k for k in range(3) if have[k] == 0]
        if empty and len(order) - i <= len(empty):  # keep a group for every split still empty
            s = max(empty, key=lambda k: deficit[k])
        else:
            s = int(np.argmax(deficit))
        where[g] = s
        have[s] += size[g]
    idx = np.arange(len(groups))
    split = np.array([where[g] for g in groups])
    return idx[split == 0], idx[split == 1], idx[split == 2]


class PatchSampler:
    """Random 512-frame patches of bank tracks, cut on the device."""

    def __init__(self, chunks: np.ndarray, device: torch.device, seed: int):
        self.bank = torch.from_numpy(np.ascontiguousarray(chunks)).to(device)  # (N, C, 96, L) uint8
        self.n, self.c, _, self.length = self.bank.shape
        self.device = device
        self.gen = torch.Generator(device="cpu").manual_seed(int(seed))
        self.frames = torch.arange(frontend.PATCH_FRAMES, device=device)
        self.bins = torch.arange(frontend.N_BINS, device=device)

    def cut(self, tracks: torch.Tensor, chunk: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """(B, 1, 96, 512) float dB patches of tracks[b], chunk[b], starting at offset[b]."""
        t = tracks.to(self.device)[:, None, None]
        c = chunk.to(self.device)[:, None, None]
        f = (offset.to(self.device)[:, None] + self.frames[None, :])[:, None, :]
        q = self.bank[t, c, self.bins[None, :, None], f]  # (B, 96, 512) uint8
        scale = (frontend.DB_CEIL - frontend.DB_FLOOR) / 255.0
        return (q.float() * scale + frontend.DB_FLOOR)[:, None]

    def random(self, tracks: np.ndarray) -> torch.Tensor:
        b = len(tracks)
        chunk = torch.randint(0, self.c, (b,), generator=self.gen)
        offset = torch.randint(0, self.length - frontend.PATCH_FRAMES + 1, (b,), generator=self.gen)
        return self.cut(torch.as_tensor(np.asarray(tracks), dtype=torch.long), chunk, offset)
