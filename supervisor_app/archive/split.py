"""Split archive pairs by commercial, so that no commercial is on both sides of a split.

A *commercial* (group) joins every pair that shares a project or a picture file (by content hash):
the cues of one project, the versions of one spot (v1, v2 with other music: same picture), and the
mockups made on that picture all fall on the same side. Each group goes to test / validation /
train by a hash of its smallest picture hash and the seed, so adding projects later does not move
the old ones (held-out pairs stay held out across trainings).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from supervisor_app.infra import errors


def commercial_groups(pairs, media: dict) -> dict[int, str]:
    """pair id → group key (the smallest picture content hash of its connected component)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    nodes = {}
    for p in pairs:
        pics = [f"pic:{media[i].content_hash}" for i in p.picture_media_ids()]
        own = [f"proj:{p.project_id}"] if p.project_id is not None else []
        ns = pics + own
        nodes[p.id] = ns[0]
        for n in ns[1:]:
            union(ns[0], n)
    roots = {pid: find(n) for pid, n in nodes.items()}
    # name each group by its smallest picture hash (stable whatever the project ids)
    label: dict[str, str] = {}
    for n in parent:
        if n.startswith("pic:"):
            r = find(n)
            label[r] = min(label.get(r, n), n)
    return {pid: label.get(r, r)[4:20] for pid, r in roots.items()}


@dataclass
class Split:
    train: list  # pair ids
    val: list
    test: list
    groups: dict  # pair id -> group

    def sides(self) -> dict[str, set[str]]:
        return {name: {self.groups[i] for i in ids} for name, ids in
                (("train", self.train), ("val", self.val), ("test", self.test))}


def _u(seed: int, group: str, salt: str) -> float:
    return int(hashlib.sha1(f"{seed}|{salt}|{group}".encode()).hexdigest()[:12], 16) / float(16 ** 12)


def split_by_commercial(pair_ids: Sequence[int], groups: dict[int, str], test_fraction: float = 0.2,
                        val_fraction: float = 0.15, seed: int = 0, min_groups: int = 2) -> Split:
    """Train / validation (early stopping) / test (held out) by group. Each side gets at least
    ``min_groups`` groups; UsageError when there are fewer than ``3 * min_groups`` groups."""
    gs = sorted({groups[i] for i in pair_ids})
    if len(gs) < 3 * min_groups:
        raise errors.UsageError(
            f"Training from the archive needs at least {3 * min_groups} different commercials (projects with their "
            f"own picture) to keep training, validation and held-out test apart; the archive has {len(gs)}.")
    if not (0 < test_fraction < 1 and 0 < val_fraction < 1 and test_fraction + val_fraction < 1):
        raise errors.UsageError("The test and validation fractions must be between 0 and 1 and sum below 1.")
    by_u = sorted(gs, key=lambda g: _u(seed, g, "side"))
    test = [g for g in gs if _u(seed, g, "side") < test_fraction]
    val = [g for g in gs if test_fraction <= _u(seed, g, "side") < test_fraction + val_fraction]
    # top up small sides from the groups nearest their band (deterministic), never below min_groups
    rest = [g for g in by_u if g not in test and g not in val]
    while len(test) < min_groups:
        test.append(rest.pop(0))
    while len(val) < min_groups:
        val.append(rest.pop(0))
    while len(rest) < min_groups:
        (test if len(test) > len(val) else val).sort(key=lambda g: _u(seed, g, "side"))
        rest.append((test if len(test) > len(val) else val).pop())
    st, sv = set(test), set(val)
    return Split([i for i in pair_ids if groups[i] not in st | sv], [i for i in pair_ids if groups[i] in sv],
                 [i for i in pair_ids if groups[i] in st], dict(groups))
