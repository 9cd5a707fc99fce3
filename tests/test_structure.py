"""The architecture a newcomer relies on: no import cycles, no reaching into another module's private names,
the core never importing the faces (IPython, widgets), modules and functions of a readable size, and
`from llmops_nb import *` working. The layer order itself is import-linter's contract in pyproject.toml
(run by `make test`); these checks cover what a layers contract cannot see."""
import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PKG = Path(__file__).resolve().parents[1] / "llmops_nb"
FACES = ("llmops_nb.cli", "llmops_nb.magics", "llmops_nb.widgets", "llmops_nb.server", "llmops_nb.demo")
FACE_PACKAGES = ("IPython", "ipywidgets", "anywidget", "argparse")


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("llmops_nb")


def test_no_import_cycles(graph):
    """Tarjan's strongly connected components over module imports (function-level imports included)."""
    adj = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(adj):
        if m not in index:
            visit(m)
    assert cycles == [], f"import cycles: {cycles}"


def test_no_module_imports_another_modules_private_names():
    offences = []
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(module, path, node)
            if not source.startswith("llmops_nb") or source == module:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    offences.append(f"{module} imports {source}.{alias.name}")
    assert offences == []


def test_core_modules_never_import_a_face():
    offences = []
    for module, path in _modules():
        if module == "llmops_nb" or module.startswith(FACES) or module.startswith(("llmops_nb.commands", "llmops_nb.cmd")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [_absolute(module, path, node)]
            for name in names:
                if name.split(".")[0] in FACE_PACKAGES or name.startswith(FACES):
                    offences.append(f"{module} imports {name}")
    assert offences == []


def test_modules_and_functions_stay_readable():
    big_modules, big_functions = [], []
    for module, path in _modules():
        src = path.read_text()
        if src.count("\n") > 500:
            big_modules.append(f"{module}: {src.count(chr(10))} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:
                big_functions.append(f"{module}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert big_modules == [] and big_functions == []


def test_star_import_gives_every_public_name(tmp_path):
    code = ("import os; os.environ['LLMOPS_HOME'] = os.path.join(os.getcwd(), 'ws')\n"
            "from llmops_nb import *\n"
            "import llmops_nb\n"
            "missing = [n for n in llmops_nb.__all__ if n not in globals()]\n"
            "assert not missing, missing\n"
            "print(len(llmops_nb.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) > 30
