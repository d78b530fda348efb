"""Layer rules, checked on the source (every import, including the lazy ones inside functions).

* No Qt, pyqtgraph or VLC outside ``supervisor_app/gui/``: the core runs headless.
* The core never imports the GUI; only the entry points that open the app may (``services/demo``, ``cli/app``).
* ``gui/session_model.py`` (the state every view follows) stays Qt-free too.
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "supervisor_app"
UI_LIBS = ("PySide6", "pyqtgraph", "vlc", "shiboken6")
MAY_OPEN_THE_APP = {"services/demo.py", "cli/app.py", "cli/main.py"}  # relative to the package: they start the app on request


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute-or-relative module name) of every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            out.append((node.lineno, mod))
            if node.level and not node.module:  # "from . import gui"
                out += [(node.lineno, "." * node.level + a.name) for a in node.names]
    return out


def _resolves_to_gui(path: Path, name: str) -> bool:
    if name.startswith("supervisor_app.gui"):
        return True
    if not name.startswith("."):
        return False
    level = len(name) - len(name.lstrip("."))
    base = path.parent
    for _ in range(level - 1):
        base = base.parent
    target = (base / name.lstrip(".").replace(".", "/")).resolve()
    return target == (PKG / "gui").resolve() or (PKG / "gui").resolve() in target.parents


def _core_files():
    return [p for p in PKG.rglob("*.py") if (PKG / "gui") not in p.parents]


def test_no_ui_library_outside_the_gui_package():
    bad = [f"{p.relative_to(PKG)}:{line} imports {name}" for p in _core_files() for line, name in _imports(p)
           if name.split(".")[0] in UI_LIBS]
    assert not bad, "UI libraries outside supervisor_app/gui:\n" + "\n".join(bad)


def test_the_core_does_not_import_the_gui():
    bad = [f"{p.relative_to(PKG)}:{line} imports {name}" for p in _core_files() for line, name in _imports(p)
           if str(p.relative_to(PKG)) not in MAY_OPEN_THE_APP and _resolves_to_gui(p, name)]
    assert not bad, "core modules importing the GUI:\n" + "\n".join(bad)


def test_the_session_model_is_qt_free():
    path = PKG / "gui" / "session_model.py"
    names = [name for _, name in _imports(path)]
    assert not [n for n in names if n.split(".")[0] in UI_LIBS or n.startswith(".") and "qt" in n.lower()], names


def test_the_checks_see_a_violation(tmp_path):
    """The scan is not vacuous: a lazy import inside a function is found, relative or absolute."""
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from PySide6 import QtCore\n    import supervisor_app.gui.app\n")
    names = [n for _, n in _imports(f)]
    assert "PySide6" in names and _resolves_to_gui(f, "supervisor_app.gui.app")
    inner = PKG / "cli" / "mockup.py"
    assert _resolves_to_gui(inner, "..gui.backend") and not _resolves_to_gui(inner, "..catalog")
