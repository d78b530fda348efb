"""The desktop app (PySide6 + pyqtgraph + python-vlc): views and thin controllers over the core.

Start it with ``supervisor-app gui [VIDEO] [--catalog PATH]`` or :func:`supervisor_app.gui.app.run_app`.
Every call into the core goes through :mod:`supervisor_app.gui.backend`; long jobs run in
:mod:`supervisor_app.gui.workers`. Importing this package imports nothing from Qt.
"""
