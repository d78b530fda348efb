"""The catalog store: tracks, analyses, embeddings and playlists in one SQLite file.

>>> from supervisor_app.catalog import Catalog
>>> with Catalog.create("/tmp/my.sqlite") as cat:          # doctest: +SKIP
...     report = cat.add_folder("~/Music")
"""
from supervisor_app.catalog.metadata import TrackTags, read_tags
from supervisor_app.catalog.scan import ScanReport
from supervisor_app.catalog.store import AnalysisRecord, Catalog, Playlist, PlaylistEntry, Track

__all__ = [
    "AnalysisRecord",
    "Catalog",
    "Playlist",
    "PlaylistEntry",
    "ScanReport",
    "Track",
    "TrackTags",
    "read_tags",
]
