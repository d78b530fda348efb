"""Paths of the real media shipped with the project (importable from any test file)."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "demo"
MUSIC = DEMO / "music"
VIDEO = DEMO / "video"
DATA = Path(__file__).resolve().parent / "data"
BBB = VIDEO / "big_buck_bunny_0_30.webm"
