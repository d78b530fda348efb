"""Structure analysis of music and video (no Qt): beats/downbeats (madmom), music segments (MSAF),
shots (TransNetV2), and the "language of music-video clips" report (thesis ch. 6).

Submodules are imported on demand (``from supervisor_app.analysis import beats``) because madmom, MSAF
and torch are heavy; importing this package costs nothing.
"""
