"""Mockups: cut a track to the picture on downbeats (edl), render it (render), export it (export_timeline,
playlist_export). Core code: no Qt."""
from supervisor_app.edit.edl import Edit, Excerpt, Splice, build_edit

__all__ = ["Edit", "Excerpt", "Splice", "build_edit"]
