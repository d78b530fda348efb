"""The one JSON encoder and the one atomic writer (supervisor_app.infra.fileio)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from supervisor_app.infra.errors import OutputError
from supervisor_app.infra.fileio import atomic_output, atomic_write_bytes, atomic_write_npz, atomic_write_text, json_dumps


def test_json_round_trips_numpy_scalars_arrays_and_paths(tmp_path):
    doc = {"i": np.int64(7), "f": np.float32(0.25), "b": np.bool_(True), "arr": np.arange(6).reshape(2, 3),
           "farr": np.array([0.5, -1.5], np.float32), "path": tmp_path / "x.wav", "tuple": (1, 2), "set": {3}}
    back = json.loads(json_dumps(doc))
    assert back == {"i": 7, "f": 0.25, "b": True, "arr": [[0, 1, 2], [3, 4, 5]], "farr": [0.5, -1.5],
                    "path": str(tmp_path / "x.wav"), "tuple": [1, 2], "set": [3]}
    assert type(back["i"]) is int and type(back["f"]) is float and type(back["b"]) is bool


def test_json_refuses_what_it_cannot_store():
    with pytest.raises(TypeError, match="object"):
        json_dumps({"x": object()})


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.json"
    atomic_write_text(target, "old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and _leftovers(tmp_path, "out.json") == []


def test_a_write_that_raises_midway_keeps_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "sheet.xlsx"
    target.write_text("the old content")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half of the new con")  # written partly, then the writer fails
            raise Boom()
    assert target.read_text() == "the old content"
    assert _leftovers(tmp_path, "sheet.xlsx") == []


def test_npz_writer_failing_midway_keeps_the_old_file(tmp_path):
    target = tmp_path / "bank.npz"
    atomic_write_npz(target, a=np.arange(3))

    class Unsaveable:
        def __array__(self, *a, **k):
            raise RuntimeError("cannot convert")

    with pytest.raises(RuntimeError):
        atomic_write_npz(target, a=np.ones(5), b=Unsaveable())
    assert np.array_equal(np.load(target)["a"], np.arange(3))
    assert _leftovers(tmp_path, "bank.npz") == []


def test_os_errors_are_typed_and_leave_nothing(tmp_path):
    folder = tmp_path / "a_file"
    folder.write_text("not a folder")
    with pytest.raises(OutputError):
        atomic_write_text(folder / "out.json", "{}")
    assert _leftovers(tmp_path, "a_file") == []
