"""Sphinx configuration of lucid's documentation: ``make docs`` builds docs/_build/html, warnings as errors."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # lucid from this checkout

import lucid  # noqa: E402

project = "lucid"
author = "the lucid authors"
copyright = "the lucid authors"
release = version = lucid.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "**/*.inc"]
root_doc = "index"

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # signatures as written; lucid's code carries few annotations

html_theme = "alabaster"
html_title = "lucid"
html_theme_options = {"description": "Deep learning from scratch, to be read line by line", "fixed_sidebar": True}
pygments_style = "sphinx"


def verbatim_docstring(app, what, name, obj, options, lines):
    """Show every docstring as it reads in the source, in a literal block.

    lucid's docstrings are plain text written for the source file: formulas in
    Unicode (``y = γ·(x − μ)/√(σ² + ε)``), shapes like ``(N, C, *)``, columns
    aligned with spaces. Parsed as reStructuredText they would lose their
    alignment and trip over ``*`` and ``|``; shown verbatim they read exactly
    as in the code.
    """
    if lines:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("autodoc-process-docstring", verbatim_docstring)
