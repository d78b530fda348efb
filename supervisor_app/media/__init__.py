"""Media layer: probe, decode audio, iterate video frames, thumbnails (PyAV / FFmpeg).

Every failure a user can cause raises a :class:`supervisor_app.infra.errors.MediaError` subclass
whose message is one sentence.
"""
from supervisor_app.media.probe import MediaInfo, probe
from supervisor_app.media.audio import load_audio
from supervisor_app.media.video import read_frames, thumbnail

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".wma"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mxf", ".mpg", ".mpeg"})

__all__ = ["MediaInfo", "probe", "load_audio", "read_frames", "thumbnail", "AUDIO_EXTENSIONS", "VIDEO_EXTENSIONS"]
