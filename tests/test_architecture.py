"""The package layers hold: import-linter's contracts (pyproject.toml), no import cycle, and no
function-level import of a project module without its reason on the line.

import-linter (grimp) finds a package's modules by walking its folder, and the layer folders
(``models/``, ``serving/``, ...) install as ``lt4rec.models``, ``lt4rec.serving`` from outside
``lt4rec/`` (setup.py's ``package_dir``). So the check lints the installed layout: the same .py
files copied into ``tmp/lt4rec/...`` the way a wheel lays them out.
"""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYER_FOLDERS = ("schemas", "models", "components", "pipeline", "serving")
PROJECT_DIRS = ("lt4rec",) + LAYER_FOLDERS
DEFERRED_TAG = "# deferred:"


def _python_files(folder: pathlib.Path):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def installed_layout(tmp_path_factory) -> pathlib.Path:
    """``tmp/lt4rec/...``: every project .py file where the wheel installs it."""
    out = tmp_path_factory.mktemp("layout")
    for folder in PROJECT_DIRS:
        target = out / "lt4rec" if folder == "lt4rec" else out / "lt4rec" / folder
        for src in _python_files(ROOT / folder):
            dst = target / src.relative_to(ROOT / folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return out


def _run_in_layout(layout: pathlib.Path, args, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(layout))
    return subprocess.run(args, cwd=layout, env=env, capture_output=True, text=True, timeout=300,
                          **kwargs)


def test_import_contracts_hold(installed_layout):
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert lint, "import-linter is not installed (requirements/dev.txt)"
    proc = _run_in_layout(installed_layout,
                          [lint, "--config", str(ROOT / "pyproject.toml"), "--no-cache"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and " 0 broken" in proc.stdout, proc.stdout[-2000:]


_CYCLES = """
import grimp
graph = grimp.build_graph("lt4rec", cache_dir=None)
edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]
import sys
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: cycles.append(sorted(comp))
for m in sorted(edges):
    if m not in index: visit(m)
print(len(graph.modules), "modules")
for c in cycles: print("cycle:", " <-> ".join(c))
"""


def test_no_import_cycle_among_project_modules(installed_layout):
    proc = _run_in_layout(installed_layout, [sys.executable, "-c", _CYCLES])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "modules" in proc.stdout and "cycle:" not in proc.stdout, proc.stdout


def _function_level_project_imports(path: pathlib.Path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = [a.name for a in inner.names]
            elif isinstance(inner, ast.ImportFrom):
                names = [inner.module or ""] if not inner.level else ["lt4rec"]
            else:
                continue
            if any(n == "lt4rec" or n.startswith("lt4rec.") for n in names):
                yield inner.lineno, lines[inner.lineno - 1]


def test_function_level_project_imports_say_why():
    """A project module imported inside a function is a deferred heavy dependency, and the
    line says so (``# deferred: <why>``); anything else belongs at the top of the module."""
    unexplained = []
    for folder in PROJECT_DIRS:
        for path in _python_files(ROOT / folder):
            for lineno, line in _function_level_project_imports(path):
                if DEFERRED_TAG not in line:
                    unexplained.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not unexplained, "function-level project imports without '# deferred: why':\n" + \
        "\n".join(unexplained)


def test_no_generic_top_level_names_are_imported():
    """Project code imports the layers as ``lt4rec.<layer>``, never as bare ``models``/..."""
    bare = []
    for folder in PROJECT_DIRS + ("tests",):
        for path in _python_files(ROOT / folder):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) and
                         not node.level else [])
                bare += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names
                         if n.split(".")[0] in LAYER_FOLDERS]
    assert not bare, "\n".join(bare)
