"""Sphinx configuration for the skamortise documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html``. Nothing is executed
at build time: the API reference is read from the docstrings, and the gallery shows
each example script with the figures, key numbers and output that
``python docs/make_gallery.py`` saved under ``docs/_static/examples/<name>/`` from
the script's full run.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

from docutils.parsers.rst import Directive, directives

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import skamortise  # noqa: E402

project = "skamortise"
author = "the skamortise developers"
copyright = "the skamortise developers"
version = release = skamortise.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"
html_theme_options = {"description": "amortised simulation-based inference"}
html_title = f"skamortise {release}"

default_role = "literal"
highlight_language = "python3"
pygments_style = "sphinx"

# Docstrings are numpydoc; autodoc only collects them. Class members are listed by
# autodoc (below), so numpydoc does not add its own member tables.
autodoc_default_options = {
    "members": True,
    "inherited-members": True,
    "member-order": "bysource",
}
autodoc_typehints = "none"
autodoc_class_signature = "mixed"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only members defined in skamortise (not sklearn's or torch's).

    The estimators inherit ``get_params``, ``set_params`` and metadata-routing
    methods from scikit-learn, whose documentation lives there; inherited members
    from skamortise's own base classes (``fit``, ``fit_simulator``) are kept.
    """
    if skip or what not in ("class", "exception"):
        return None
    target = obj.fget if isinstance(obj, property) else obj
    target = getattr(target, "__func__", target)
    module = getattr(target, "__module__", None)
    if module is None:
        return None
    return not module.startswith("skamortise")


# ---------------------------------------------------------------------------
# Directives that expand to reStructuredText at read time
# ---------------------------------------------------------------------------


class OptionalModule(Directive):
    """Document a module with automodule if it can be imported, else nothing.

    Usage: ``.. optional-module:: skamortise.io`` followed by an indented title line.
    """

    required_arguments = 1
    has_content = True

    def run(self):
        name = self.arguments[0]
        if importlib.util.find_spec(name) is None:
            return []
        title = " ".join(self.content).strip() or f"``{name}``"
        lines = [title, "-" * len(title), "", f".. automodule:: {name}", ""]
        self.state_machine.insert_input(lines, f"<optional-module {name}>")
        return []


def _docstring_and_code_start(path: Path) -> tuple[str, int]:
    tree = ast.parse(path.read_text())
    docstring = ast.get_docstring(tree, clean=True) or ""
    first = tree.body[0] if tree.body else None
    has_doc = isinstance(first, ast.Expr) and isinstance(
        getattr(first, "value", None), ast.Constant
    )
    return docstring, (first.end_lineno + 1 if has_doc else 1)


def _key_number_lines(record: dict) -> list[str]:
    """A table of the key numbers in a ``key_numbers.json`` record."""
    # CPU time, not wall-clock time: the gallery is made on shared machines.
    minutes = max(record["cpu_seconds"] / 60, 1)
    lines = [
        f"**Key numbers of the full run** (about {minutes:.0f} min of CPU time on"
        f" {record['machine']}; the script stops with an error if a number leaves"
        " its range)",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - key number",
        "     - value",
        "     - checked range",
    ]
    for name, number in record["key_numbers"].items():
        lines += [
            f"   * - ``{name}``",
            f"     - {number['value']:.3f}",
            f"     - [{number['low']:g}, {number['high']:g}]",
        ]
    return [*lines, ""]


class ExampleScript(Directive):
    """Render an example script with what its full run saved, then the code.

    ``.. example-script:: name.py`` inserts a section titled by the docstring's first
    line, the rest of the docstring, every ``_static/examples/<name>/*.png`` in name
    order, the key numbers from ``key_numbers.json``, the printed ``output.txt``, the
    command line, and the code after the docstring (all saved by
    ``docs/make_gallery.py``).
    """

    required_arguments = 1
    option_spec = {"label": directives.unchanged}

    def run(self):
        filename = self.arguments[0]
        path = ROOT / "examples" / filename
        env = self.state.document.settings.env
        env.note_dependency(str(path))
        docstring, code_start = _docstring_and_code_start(path)
        lines = docstring.splitlines()
        # A title may be underlined in the docstring (sphinx-gallery style).
        if len(lines) > 1 and lines[1] and set(lines[1]) <= set("=-~"):
            title, body = lines[0], lines[2:]
        else:
            title, body = lines[0], lines[1:]
        title = title.strip().rstrip(".")
        stem = Path(filename).stem
        saved = DOCS / "_static" / "examples" / stem
        out = [f".. _example-{stem}:", "", title, "-" * len(title), ""]
        out += body + [""]
        figures = sorted(saved.glob("*.png"))
        if figures:
            out += ["**Figures** (from the full run)", ""]
            for fig in figures:
                rel = fig.relative_to(DOCS).as_posix()
                out += [f".. image:: /{rel}", "   :width: 45%", ""]
        record = saved / "key_numbers.json"
        if record.exists():
            env.note_dependency(str(record))
            out += _key_number_lines(json.loads(record.read_text()))
        if (saved / "output.txt").exists():
            rel = (saved / "output.txt").relative_to(DOCS).as_posix()
            out += [
                "**Output of the full run**",
                "",
                f".. literalinclude:: /{rel}",
                "   :language: text",
                "",
            ]
        out += [
            f"**Run it**: ``python examples/{filename}`` (``--fast`` for a quick "
            "run). The script:",
            "",
            f".. literalinclude:: ../examples/{filename}",
            "   :language: python",
            f"   :lines: {code_start}-",
            "",
        ]
        self.state_machine.insert_input(out, str(path))
        return []


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.add_directive("optional-module", OptionalModule)
    app.add_directive("example-script", ExampleScript)
    return {"parallel_read_safe": True}
