"""The layering of docs/architecture.rst: no module imports from a layer above it.

Imports are read from the source (``ast``), so the check sees every import a module
makes, including those that run only inside functions, and follows them through
packages: importing ``skamortise.a.b`` runs ``skamortise/a/__init__.py`` too. The face
(``skamortise/__init__.py``), which every import runs and which imports everything,
is left out.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "skamortise"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict:
    graph = {}
    for path in ROOT.rglob("*.py"):
        name = _module(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                    # ``from . import x`` may name a submodule
                    imports.update(f"{target}.{a.name}" for a in node.names)
                else:
                    target = node.module or ""
                imports.add(target)
            elif isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names)
        graph[name] = {m for m in imports if m.startswith("skamortise")}
    return graph


GRAPH = _graph()


def _reach(module: str) -> set:
    """Every package module that importing ``module`` runs."""
    seen, todo = set(), [module]
    while todo:
        for target in GRAPH.get(todo.pop(), ()):
            parts = target.split(".")
            # From 2: every import runs the face (skamortise/__init__.py), which
            # imports everything; the rules are about the modules themselves.
            for k in range(2, len(parts) + 1):
                name = ".".join(parts[:k])
                if name in GRAPH and name not in seen:
                    seen.add(name)
                    todo.append(name)
    return seen


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


LEAVES = ["_seeds", "_progress", "_filerows", "_runtime", "_deprecation"]

# module (and everything it imports) -> what it must never import
RULES = {
    **{f"skamortise.{leaf}": ["skamortise"] for leaf in LEAVES},
    "skamortise.simulation": [
        "skamortise.sources",
        "skamortise._source",
        "skamortise._training",
        "skamortise._base",
        "skamortise.estimators",
    ],
    "skamortise._training": [
        "skamortise.simulation",
        "skamortise.sources",
        "skamortise._source",
        "skamortise._tables",
        "skamortise._base",
        "skamortise.estimators",
    ],
    "skamortise._source": ["skamortise.simulation", "skamortise.sources"],
    "skamortise._tables": ["skamortise.simulation", "skamortise.sources"],
    "skamortise.sources": ["skamortise._base", "skamortise.estimators"],
    "skamortise._base": [
        "skamortise.simulation",
        "skamortise.sources",
        "skamortise.estimators",
        "skamortise.io",
    ],
    # The writer serves ``est.save``; only reading needs the registry of classes.
    "skamortise._saving": ["skamortise.io", "skamortise.estimators"],
    # Validating a layout needs no simulation, source, family or training.
    "skamortise._layout": [
        "skamortise._base",
        "skamortise._fitting",
        "skamortise._training",
        "skamortise.simulation",
        "skamortise.sources",
        "skamortise.estimators",
    ],
    "skamortise._fitting": [
        "skamortise.simulation",
        "skamortise.sources",
        "skamortise.estimators",
    ],
    # Distributions know nothing of networks, estimators or how they are used.
    "skamortise.distributions": [
        "skamortise.nn",
        "skamortise._base",
        "skamortise.estimators",
        "skamortise.inference",
    ],
    # Inference routines take log densities; they know no estimator.
    "skamortise.inference": ["skamortise._base", "skamortise.estimators"],
    # The ensemble combines members by their public methods, never by their class.
    "skamortise.ensemble": ["skamortise.estimators", "skamortise._base"],
    "skamortise._combiners": ["skamortise.estimators", "skamortise._base"],
    # Transformers share the layout rule (``_checks``), not the estimator base.
    "skamortise.preprocessing": ["skamortise._base", "skamortise.estimators"],
}

# No module but these is over MAX_LINES; each exception says why.
MAX_LINES = 500
LONG_MODULES = {
    "plotting.py": "one public function per plot, sharing private helpers",
}


@pytest.mark.parametrize("module", RULES)
def test_no_import_from_a_layer_above(module):
    assert module in GRAPH, f"{module} is not a module of the package"
    forbidden = [
        reached
        for reached in _reach(module)
        for prefix in RULES[module]
        if _under(reached, prefix) and not _under(reached, module)
    ]
    assert not forbidden, f"{module} imports {sorted(set(forbidden))}"


def test_simulation_needs_no_torch():
    for name in GRAPH:
        if _under(name, "skamortise.simulation"):
            source = (ROOT.parent / (name.replace(".", "/"))).with_suffix(".py")
            if not source.exists():
                source = ROOT.parent / name.replace(".", "/") / "__init__.py"
            assert "import torch" not in source.read_text(), name


def test_modules_are_short():
    long = {
        str(path.relative_to(ROOT)): n
        for path in ROOT.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert set(long) <= set(LONG_MODULES), f"modules over {MAX_LINES} lines: {long}"
