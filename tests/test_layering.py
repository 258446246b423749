"""The house's layout, held by a test: which package may import which (README's
"Architecture"). Every import statement of every module under app/ is read with `ast`, those
inside functions too, so a lazy import cannot hide a loop.

The faces (app/api/ for JSON, app/web/ for pages, app/cli/ for the command line) sit on the
services; nothing below a face imports it, and no face imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

# (imported package, the packages that may import it); a package always imports itself.
ONLY_FROM: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Route modules: mounted by the one assembly, imported by nobody else.
    ("app.api", ("app.serve.core_app",)),
    ("app.web", ("app.serve.core_app",)),
    ("app.cli", ()),
    # The HTTP layer's shared dependencies and front door.
    ("app.http", ("app.api", "app.web", "app.serve")),
    ("fastapi", ("app.api", "app.web", "app.http", "app.serve")),
    ("starlette", ("app.api", "app.web", "app.http", "app.serve")),
    # The demo is a tool of its own: only its command loads it.
    ("app.demo", ("app.cli.demo",)),
)

# (importer, imported): the stages' direction. A hit goes tracker → ingest → store →
# attribution; the catalog, geo and the store sit below whoever reads them.
NEVER: tuple[tuple[str, str], ...] = (
    # The query layer reads the rollup tables; the rollup job (which imports it) writes them.
    ("app.attribution", "app.rollups"),
    # HTTP-in is the top of the hit path: nothing below it imports it ...
    ("app.ingest", "app.tracker"),
    ("app.catalog", "app.tracker"),
    ("app.store", "app.tracker"),
    ("app.attribution", "app.tracker"),
    ("app.geo", "app.tracker"),
    # ... and it never opens the store nor runs a query (the edge answers from memory).
    ("app.tracker", "app.store"),
    ("app.tracker", "app.attribution"),
    ("app.tracker", "app.rollups"),
    # The store is the bottom: the client and the migrations know no domain.
    ("app.store", "app.catalog"),
    ("app.store", "app.ingest"),
    ("app.store", "app.attribution"),
    # Reference lookups serve enrichment and targeting, not the other way round.
    ("app.geo", "app.ingest"),
    ("app.geo", "app.targeting"),
    ("app.ingest", "app.attribution"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, typing_only: bool = True) -> set[str]:
    """Every module name an import statement in `path` names (absolute imports only: the
    project uses no relative ones); without those under `if TYPE_CHECKING:` when
    `typing_only` is False (they never run)."""
    tree = ast.parse(path.read_text("utf-8"))
    if not typing_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from app.api import stats` names the module app.api.stats.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {_module_name(p): _imports(p) for p in sorted(APP.rglob("*.py"))}
RUNTIME = {_module_name(p): _imports(p, typing_only=False) for p in sorted(APP.rglob("*.py"))}


def test_the_walk_sees_the_whole_app() -> None:
    assert len(MODULES) > 100
    assert "app.serve.core_app" in MODULES
    assert any(_within(i, "app.api") for i in MODULES["app.serve.core_app"])


@pytest.mark.parametrize(("package", "allowed"), ONLY_FROM, ids=[p for p, _ in ONLY_FROM])
def test_a_package_is_imported_only_from_where_the_layout_allows(
    package: str, allowed: tuple[str, ...]
) -> None:
    offending = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if not _within(module, package) and not any(_within(module, a) for a in allowed)
        for name in names
        if _within(name, package)
    )
    assert not offending, "\n".join(offending)


def test_no_face_imports_another() -> None:
    faces = ("app.api", "app.web", "app.cli")
    offending = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        for face in faces
        if _within(module, face)
        for name in names
        for other in faces
        if other != face and _within(name, other)
    )
    assert not offending, "\n".join(offending)


@pytest.mark.parametrize(("importer", "imported"), NEVER, ids=[f"{a}->{b}" for a, b in NEVER])
def test_the_stages_import_one_way(importer: str, imported: str) -> None:
    offending = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if _within(module, importer)
        for name in names
        if _within(name, imported)
    )
    assert not offending, "\n".join(offending)


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while (top := stack.pop()) != module:
                group.append(top)
            if group:
                loops.append(sorted([module, *group]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return loops


def test_no_module_imports_itself_through_others() -> None:
    """No import loop, hidden in a function or not (type-only imports excepted)."""
    graph = {m: {n for n in names if n in RUNTIME and n != m} for m, names in RUNTIME.items()}
    assert _loops(graph) == []
    graph["app.catalog.entities"].add("app.catalog.service")  # the oracle sees a loop
    assert _loops(graph) != []
