"""Sphinx configuration of lucid's documentation: ``make docs`` builds docs/_build/html, warnings as errors."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # lucid from this checkout

project = "lucid"
author = "the lucid authors"
copyright = "the lucid authors"
import lucid  # noqa: E402

release = version = lucid.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "**/*.inc"]
root_doc = "index"

autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"

autodoc_typehints = "none"  # signatures as written; lucid's code carries few annotations

html_theme = "alabaster"
html_title = "lucid"
html_theme_options = {"description": "Deep learning from scratch, to be read line by line", "fixed_sidebar": True}
pygments_style = "sphinx"
