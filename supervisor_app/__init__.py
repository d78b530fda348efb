"""supervisor_app: video-to-music recommendation for music supervisors."""
__version__ = "0.1.0"
