import csv
import json

import numpy as np
import soundfile as sf

from supervisor_app.catalog import Catalog
from supervisor_app.cli.main import main


def test_playlist_cli_roundtrip(tmp_path, capsys):
    d = tmp_path / "m"
    d.mkdir()
    for i in range(2):
        sf.write(d / f"t{i}.wav", (0.1 * np.sin(np.arange(22050) * (0.05 + i * 0.01))).astype(np.float32), 22050)
    cat_path = tmp_path / "c.sqlite"
    with Catalog.create(cat_path) as cat:
        cat.add_folder(d)
        ids = [t.id for t in cat.tracks()]
    c = ["--catalog", str(cat_path)]
    assert main(["playlist", "create", "Brief 12", *c]) == 0
    assert main(["playlist", "add", "Brief 12", *map(str, ids[::-1]), *c]) == 0
    for fmt in ("m3u8", "csv", "json"):
        assert main(["playlist", "export", "Brief 12", "--out", str(tmp_path / f"p.{fmt}"), *c]) == 0
    lines = (tmp_path / "p.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U" and lines[2].endswith("t1.wav") and lines[4].endswith("t0.wav")
    rows = list(csv.DictReader(open(tmp_path / "p.csv", encoding="utf-8-sig")))
    assert [r["Title"] for r in rows] == ["t1", "t0"]
    data = json.loads((tmp_path / "p.json").read_text())
    assert "Brief 12" in json.dumps(data)
    capsys.readouterr()
    assert main(["playlist", "export", "missing", "--out", str(tmp_path / "x.m3u8"), *c]) == 2
    assert "no playlist" in capsys.readouterr().err
    assert main(["playlist", "add", "Brief 12", "999", *c]) == 2
