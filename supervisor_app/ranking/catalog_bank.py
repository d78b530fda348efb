"""The catalog's segment embeddings for one model, packed for ranking and kept in sync with the catalog.

``catalog_bank(catalog, model, version)`` returns a :class:`SegmentBank` and its :class:`Prefilter`.
They are built from the catalog's embeddings table once, saved beside the app's cache
(``cache_dir()/banks``), memory-mapped on the next start, and rebuilt only when the catalog's
embeddings of that model change (fingerprint: number of rows, newest row id, newest computation
time, and the set of tracks currently usable). Within one process the last bank is kept in memory, so
repeated queries (the app) pay nothing.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from supervisor_app.infra.paths import cache_dir
from supervisor_app.infra.fileio import atomic_write_text
from supervisor_app.ranking.bank import SegmentBank
from supervisor_app.ranking.prefilter import Prefilter

_LOCK = threading.Lock()
_MEMO: dict[tuple, tuple[str, SegmentBank, Prefilter]] = {}


def embeddings_fingerprint(catalog, model: str, version: str) -> str:
    """Changes whenever an embedding of (model, version) is added, replaced or deleted, or a track's status changes."""
    db = catalog._db
    n, max_rowid, max_t = db.execute(
        "SELECT count(*), max(rowid), max(computed_at) FROM embeddings WHERE model = ? AND version = ?",
        (model, version)).fetchone()
    bad = db.execute("SELECT group_concat(id) FROM (SELECT id FROM tracks WHERE status != 'ok' ORDER BY id)").fetchone()[0]
    return hashlib.sha256(json.dumps([n, max_rowid, max_t, bad or ""]).encode()).hexdigest()[:24]


def _folder(catalog, model: str, version: str) -> Path:
    key = hashlib.sha256(f"{Path(catalog.path).resolve()}|{model}|{version}".encode()).hexdigest()[:20]
    d = cache_dir() / "banks" / key
    d.mkdir(parents=True, exist_ok=True)
    return d


def catalog_bank(catalog, model: str, version: str) -> tuple[SegmentBank, Prefilter]:
    """(bank, prefilter) of a model's segment embeddings in ``catalog``; empty catalogs give an empty bank."""
    fp = embeddings_fingerprint(catalog, model, version)
    memo_key = (str(Path(catalog.path).resolve()), model, version)
    with _LOCK:
        hit = _MEMO.get(memo_key)
        if hit is not None and hit[0] == fp:
            return hit[1], hit[2]
        folder = _folder(catalog, model, version)
        stamp = folder / "fingerprint.json"
        bank = prefilter = None
        if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == fp:
            try:
                bank = SegmentBank.load(folder / "bank.npz", mmap=True)
                prefilter = Prefilter.load(folder / "prefilter.npz", bank)
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
                bank = prefilter = None
        if bank is None:
            ids, arrays = catalog.load_embeddings(model, version)
            if not ids:
                return None, None
            bank = SegmentBank.from_arrays(ids, arrays)
            prefilter = None
            if (folder / "prefilter.npz").exists():  # sync the previous index incrementally
                try:
                    prefilter = Prefilter.load(folder / "prefilter.npz", bank)
                except Exception:  # noqa: BLE001
                    prefilter = None
            prefilter = prefilter or Prefilter(bank, "auto")
            bank.save(folder / "bank.npz")
            prefilter.save(folder / "prefilter.npz")
            atomic_write_text(stamp, json.dumps({"fingerprint": fp, "model": model, "version": version,
                                                 "catalog": str(catalog.path), "n_tracks": bank.n_tracks}))
        _MEMO.clear()  # one bank in memory at a time
        _MEMO[memo_key] = (fp, bank, prefilter)
        return bank, prefilter
