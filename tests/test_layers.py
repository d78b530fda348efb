"""Layer rules, checked on the source (every import, including the lazy ones inside functions).

* No Qt, pyqtgraph or VLC outside ``supervisor_app/gui/``: the core runs headless.
* The core never imports the GUI; only the entry points that open the app may (``cli/demo``, ``cli/app``).
* ``gui/session_model.py`` (the state every view follows) stays Qt-free too.
* Dependencies point one way: ``cli/`` and ``gui/`` -> ``services/`` -> the stages -> ``infra/``. The
  services import neither the CLI nor the GUI, the GUI imports no CLI module, and nothing outside ``cli/``
  imports it (``cli/`` is the top: one module per command, registered by ``cli/main``).
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "supervisor_app"
UI_LIBS = ("PySide6", "pyqtgraph", "vlc", "shiboken6")
MAY_OPEN_THE_APP = {"cli/demo.py", "cli/app.py", "cli/main.py"}  # relative to the package: they start the app on request


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


def _resolves_to(path: Path, name: str, package: str) -> bool:
    """Whether the import ``name`` in ``path`` names ``supervisor_app.<package>`` or a module inside it."""
    if name == f"supervisor_app.{package}" or name.startswith(f"supervisor_app.{package}."):
        return True
    if not name.startswith("."):
        return False
    level = len(name) - len(name.lstrip("."))
    base = path.parent
    for _ in range(level - 1):
        base = base.parent
    target = (base / name.lstrip(".").replace(".", "/")).resolve()
    return target == (PKG / package).resolve() or (PKG / package).resolve() in target.parents


def _resolves_to_gui(path: Path, name: str) -> bool:
    return _resolves_to(path, name, "gui")


def _files_in(package: str):
    return sorted((PKG / package).rglob("*.py"))


def _violations(files, package: str) -> list[str]:
    return [f"{p.relative_to(PKG)}:{line} imports {name}" for p in files for line, name in _imports(p)
            if _resolves_to(p, name, package)]


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


def test_services_import_neither_the_cli_nor_the_gui():
    bad = _violations(_files_in("services"), "cli") + _violations(_files_in("services"), "gui")
    assert not bad, "services importing the CLI or the GUI (they are the layer under both):\n" + "\n".join(bad)


def test_the_gui_imports_no_cli_module():
    bad = _violations(_files_in("gui"), "cli")
    assert not bad, "GUI modules importing the CLI (call supervisor_app.services instead):\n" + "\n".join(bad)


def test_only_the_cli_imports_the_cli():
    others = [p for p in PKG.rglob("*.py") if (PKG / "cli") not in p.parents]
    bad = _violations(others, "cli")
    assert not bad, "modules outside supervisor_app/cli importing it:\n" + "\n".join(bad)


def test_every_command_module_is_in_cli_and_registers_itself():
    """One module per command, all under cli/: what main registers is there and has ``add_cli``."""
    from supervisor_app.cli.main import _COMMAND_MODULES

    for name in _COMMAND_MODULES:
        assert name.startswith("supervisor_app.cli."), name
        path = PKG / (name.split(".", 1)[1].replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "add_cli" for n in tree.body), name
    # the modules that mix a job with its command line do not any more
    for core in ("analysis/report.py", "briefs/search.py", "catalog/pool.py", "services/playlists.py",
                 "services/demo.py", "services/mockup.py"):
        tree = ast.parse((PKG / core).read_text(encoding="utf-8"))
        assert not any(isinstance(n, ast.FunctionDef) and n.name == "add_cli" for n in tree.body), core


def test_the_layer_checks_see_a_violation(tmp_path):
    """The cli/services scans are not vacuous: absolute and relative imports of the CLI are found."""
    svc = PKG / "services" / "x.py"
    assert _resolves_to(svc, "supervisor_app.cli.recommend", "cli") and _resolves_to(svc, "..cli", "cli")
    assert _resolves_to(svc, "..cli.args", "cli") and not _resolves_to(svc, "supervisor_app.catalog", "cli")
    assert not _resolves_to(svc, "supervisor_app.cliché", "cli")
    f = tmp_path / "y.py"
    f.write_text("def f():\n    from supervisor_app.cli.mockup import track_events\n")
    assert [n for _, n in _imports(f) if _resolves_to(f, n, "cli")] == ["supervisor_app.cli.mockup"]


# --- dependencies point down: cli/gui -> services -> stages -> infra --------------------------------------
def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """Absolute ``supervisor_app`` imports of ``path`` that run (lazy ones included; ``if TYPE_CHECKING:``
    blocks, which only name types, left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {id(x) for n in ast.walk(tree) if isinstance(n, ast.If)
                   and getattr(n.test, "id", getattr(n.test, "attr", None)) == "TYPE_CHECKING"
                   for b in n.body for x in ast.walk(b)}
    out = []
    for n in ast.walk(tree):
        if id(n) in typing_only:
            continue
        if isinstance(n, ast.Import):
            out += [(n.lineno, a.name) for a in n.names if a.name.startswith("supervisor_app")]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").startswith("supervisor_app"):
            out += [(n.lineno, f"{n.module}.{a.name}") for a in n.names]
    return out


def _runtime_violations(folder: str, forbidden) -> list[str]:
    return [f"{p.relative_to(PKG)}:{line} imports {name}" for p in sorted((PKG / folder).rglob("*.py"))
            for line, name in _runtime_imports(p) if forbidden(p, name)]


def test_infra_imports_nothing_of_the_app_but_infra():
    bad = _runtime_violations("infra", lambda p, name: not name.startswith(("supervisor_app.infra", "supervisor_app.__version__")))
    assert not bad, "infra reaching up:\n" + "\n".join(bad)


def test_training_code_points_down():
    """Shared network code (nets) knows no network family; Seg-VM-Net training does not import the
    evaluation; no stage imports the training dataset."""
    bad = _runtime_violations("segvmnet", lambda p, name: name.startswith("supervisor_app.evaluation"))
    bad += _runtime_violations("nets", lambda p, name: name.startswith(("supervisor_app.segvmnet", "supervisor_app.musimnet")))
    for folder in ("services", "indexing", "catalog", "ranking", "features"):
        bad += _runtime_violations(folder, lambda p, name: name.startswith("supervisor_app.segvmnet.dataset"))
    assert not bad, "\n".join(bad)


def test_the_catalog_scanner_and_store_have_no_cycle():
    bad = _runtime_violations("catalog", lambda p, name: p.name == "scan.py" and name.startswith("supervisor_app.catalog.store"))
    assert not bad, "\n".join(bad)


def test_the_dependency_checks_see_a_violation(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from supervisor_app.catalog.store import Catalog\n"
                 "def f():\n    from supervisor_app.catalog.store import Track\n")
    assert _runtime_imports(f) == [(5, "supervisor_app.catalog.store.Track")]
