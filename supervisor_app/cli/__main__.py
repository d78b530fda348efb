"""``python -m supervisor_app.cli``: the same as the ``supervisor-app`` command."""
from supervisor_app.cli.main import entry

entry()
