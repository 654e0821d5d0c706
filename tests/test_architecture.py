"""The architecture as checks: layers, plain imports, one public surface, small rooms.

The layering contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and read as
the architecture: adapters -> demo -> services -> workspace -> storage -> engines ->
shared rules.  The other rules are checked here on the source's syntax tree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp  # import-linter's graph builder, installed with it
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "outsidein"
#: Modules that may be imported inside a function (each such import carries a comment
#: saying why): optional extras, and heavy libraries kept off the start-up path.
LAZY_ALLOWED = ("pyspark", "playwright", "lightgbm", "psycopg", "ibis", "semopy",
                "openpyxl")  # openpyxl: 0.15 s to import, for Excel workbooks only
#: The CLI's command modules load their services when the command runs, so that
#: `outsidein --help` starts in a fraction of a second (each with its comment).
LAZY_IN_CLI = ("outsidein.", "uvicorn")
#: A workspace opens its warehouse (Ibis) and migrates its store (Alembic) only when asked,
#: so that `outsidein status` on a DuckDB file imports neither.
LAZY_IN_WORKSPACE = ("outsidein.warehouse.engine", "outsidein.store.migrate")
MAX_LINES = 500


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(SRC.rglob("*.py")) if "migrations" not in p.parts]


def _name(p: Path) -> str:
    rel = p.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [a.name for a in node.names]


def test_layering_contracts_hold() -> None:
    """``lint-imports`` checks the contracts in pyproject.toml (type-checking imports too)."""
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe)], capture_output=True, text=True, cwd=SRC.parents[1],
                         timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or through others (type hints included)."""
    graph = grimp.build_graph("outsidein")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module != imported and graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} <-> {imported}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_imports_inside_functions_only_for_optional_heavy_dependencies() -> None:
    bad = []
    for path, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                for mod in _imported(node):
                    where = f"{path.relative_to(SRC)}:{node.lineno} imports {mod}"
                    allowed = LAZY_ALLOWED + (LAZY_IN_CLI if path.parent.name == "cli" else ())
                    if path == SRC / "workspace.py":
                        allowed += LAZY_IN_WORKSPACE
                    if not mod.startswith(allowed):
                        bad.append(where)
                    elif "#" not in lines[node.lineno - 1] and \
                            not lines[node.lineno - 2].strip().startswith("#"):
                        bad.append(where + " without a comment saying why")
    assert not bad, "imports inside functions:\n" + "\n".join(sorted(set(bad)))


def test_no_module_is_looked_up_by_a_string() -> None:
    bad = [f"{p.relative_to(SRC)}:{n.lineno}" for p, tree in _modules() for n in ast.walk(tree)
           if isinstance(n, ast.Attribute) and n.attr == "import_module"]
    assert not bad, "importlib lookups (use plain imports): " + ", ".join(bad)


def test_no_private_module_of_another_package_is_imported() -> None:
    bad = []
    for path, tree in _modules():
        here = _name(path)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for mod in _imported(node):
                parts = mod.split(".")
                private = [i for i, s in enumerate(parts) if s.startswith("_") and i > 0]
                if mod.startswith("outsidein.") and private:
                    owner = ".".join(parts[:private[0]])
                    if not (package == owner or package.startswith(owner + ".")):
                        bad.append(f"{here} imports {mod}")
    assert not bad, "\n".join(bad)


def test_every_package_declares_its_public_api() -> None:
    missing = []
    for init in sorted(SRC.rglob("__init__.py")):
        if "migrations" in init.parts or init.parent == SRC:
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        has_all = any(
            (isinstance(n, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets))
            or (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
                and n.target.id == "__all__") for n in tree.body)
        if not has_all:
            missing.append(str(init.relative_to(SRC)))
    assert not missing, "packages without __all__: " + ", ".join(missing)


@pytest.mark.parametrize("path", sorted(p for p in SRC.rglob("*.py")), ids=lambda p: p.name)
def test_small_rooms(path: Path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines (split it along its seams)"


def test_no_environment_read_outside_settings() -> None:
    """Every OUTSIDEIN_* variable is read by config.Settings, when settings are built.

    Elsewhere the environment is only written (for worker processes) or passed whole to
    a child process (``{**os.environ, ...}``).
    """
    def is_environ(n: ast.AST) -> bool:
        return (isinstance(n, ast.Attribute) and n.attr == "environ"
                and isinstance(n.value, ast.Name) and n.value.id == "os")

    bad = []
    for path, tree in _modules():
        if path.name == "config.py" and path.parent == SRC:
            continue
        for node in ast.walk(tree):
            read = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                (node.func.attr == "get" and is_environ(node.func.value))
                or (node.func.attr == "getenv" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "os")))
            read = read or (isinstance(node, ast.Subscript) and is_environ(node.value)
                            and isinstance(node.ctx, ast.Load))
            if read:
                bad.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not bad, "environment read outside outsidein.config: " + ", ".join(bad)
