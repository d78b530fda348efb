"""Quality gates that run with the test suite (and so in CI): ruff's rules, the import contracts
(import-linter) and the mypy ratchet, each configured in pyproject.toml; .pre-commit-config.yaml runs the same
tools before a commit for those who want it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found:
        return [found]
    pytest.fail("ruff is not installed: it is pinned in installer/requirements.txt (run installer/install.sh)")


def test_ruff_finds_nothing():
    r = subprocess.run(_ruff() + ["check", "--no-cache", "supervisor_app", "tests", "benchmarks", "scripts", "installer"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_gate_is_not_vacuous(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f():\n    return undefined_name\n")
    r = subprocess.run(_ruff() + ["check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "F821" in r.stdout and "F401" in r.stdout


# ----------------------------------------------------------------------------------------------------------
# import contracts (pyproject.toml, [tool.importlinter]; docs/ARCHITECTURE.md)

_APP_PACKAGES = ["infra", "media", "analysis", "features", "catalog", "indexing", "nets", "segvmnet", "musimnet",
                 "ranking", "briefs", "edit", "evaluation", "archive", "services", "cli", "gui"]


def _lint_imports(config: Path, pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        found = shutil.which("lint-imports")
        if not found:
            pytest.fail("import-linter is not installed: it is pinned in installer/requirements.txt "
                        "(run installer/install.sh)")
        exe = Path(found)
    import os

    env = dict(os.environ)
    # the checkout under test, never an installed copy of the package
    env["PYTHONPATH"] = str(pythonpath) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([str(exe), "--no-cache", "--config", str(config)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    r = _lint_imports(REPO / "pyproject.toml", REPO, REPO)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-4000:]
    assert "0 broken" in r.stdout


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def test_import_contracts_are_not_vacuous(tmp_path):
    """The repository's contracts, without their ignore lists, on a fake app with one wrong-way import of
    each kind: every contract must break."""
    import tomllib

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    app = tmp_path / "src" / "supervisor_app"
    for pkg in [""] + _APP_PACKAGES:
        (app / pkg).mkdir(parents=True, exist_ok=True)
        (app / pkg / "__init__.py").write_text("")
    for pkg in _APP_PACKAGES:
        (app / pkg / "a.py").write_text("")
    wrong = {
        "layers": ("media/b.py", "from supervisor_app.analysis import a\n"),
        "qt-only-in-gui": ("edit/b.py", "import pyqtgraph\n"),
        "infra-imports-nothing": ("infra/b.py", "from supervisor_app.catalog import a\n"),
        "services-below-ui": ("services/b.py", "from supervisor_app.gui import a\n"),
        "no-sibling-cycles": ("catalog/b.py", "from supervisor_app.catalog import c\n"),
    }
    (app / "catalog" / "c.py").write_text("from supervisor_app.catalog import b\n")
    assert {c["id"] for c in contracts} == set(wrong), "a new contract needs its wrong-way import here"
    for rel, text in wrong.values():
        (app / rel).write_text(text)
    # a stand-in for the Qt package (import-linter needs the external package to be importable by name)
    (tmp_path / "src" / "pyqtgraph").mkdir()
    (tmp_path / "src" / "pyqtgraph" / "__init__.py").write_text("")

    lines = ["[tool.importlinter]", 'root_packages = ["supervisor_app"]', "include_external_packages = true"]
    for c in contracts:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in c.items() if k != "ignore_imports"]
    cfg = tmp_path / "contracts.toml"
    cfg.write_text("\n".join(lines) + "\n")

    r = _lint_imports(cfg, tmp_path / "src", tmp_path)
    assert r.returncode != 0, r.stdout
    assert f"0 kept, {len(contracts)} broken" in r.stdout, r.stdout[-6000:]


# ----------------------------------------------------------------------------------------------------------
# mypy ratchet (tests/mypy_gate.py, tests/mypy_baseline.txt)

def test_mypy_errors_do_not_exceed_the_baseline():
    import mypy_gate

    now, out = mypy_gate.run_mypy()
    c = mypy_gate.compare(mypy_gate.read_baseline(), now)
    assert c.same, mypy_gate.describe(c, out)


def test_mypy_gate_counts_and_compares():
    import mypy_gate

    out = ("supervisor_app/a.py:3: error: Incompatible types  [assignment]\n"
           "supervisor_app/a.py:4:7: error: Name \"x\" is not defined  [name-defined]\n"
           "supervisor_app/a.py:5: note: See https://mypy.readthedocs.io\n"
           "supervisor_app/b.py:9: error: Missing return  [return]\n")
    now = mypy_gate.count_errors(out)
    assert now == {"supervisor_app/a.py": 2, "supervisor_app/b.py": 1}
    c = mypy_gate.compare({"supervisor_app/a.py": 3, "supervisor_app/c.py": 1}, now)
    assert c.worse == {"supervisor_app/b.py": (0, 1)}
    assert c.better == {"supervisor_app/a.py": (3, 2), "supervisor_app/c.py": (1, 0)}
    text = mypy_gate.describe(c, out)
    assert "MORE errors" in text and "Missing return" in text and "--update" in text


def test_mypy_gate_sees_a_new_type_error(tmp_path):
    """mypy with the repository's config reports an error in a file that has one (the gate is not vacuous)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n")
    exe = Path(sys.executable).with_name("mypy")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "mypy"]
    r = subprocess.run(head + ["--config-file", str(REPO / "pyproject.toml"), "--no-incremental",
                               "--cache-dir", str(tmp_path / "cache"), str(bad)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    import mypy_gate

    assert mypy_gate.count_errors(r.stdout.replace(str(bad), "bad.py")) == {"bad.py": 1}, r.stdout + r.stderr
