"""The README and the docs site: the README's examples run, every norm module has its page, the site builds."""

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lucid.nn.modules.normalization as normalization

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SECTIONS = [
    "Class Signature",
    "Parameters",
    "Attributes",
    "Forward Calculation",
    "Backward Gradient Calculation",
    "Examples",
]


def _examples(text):
    """The doctest examples of a text, as (source, expected output) pairs."""
    return [(e.source, e.want) for e in doctest.DocTestParser().get_examples(text)]


def test_readme_examples_print_what_they_show():
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        verbose=False,
        report=True,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
        globs={},
    )
    assert result.attempted >= 10
    assert result.failed == 0


def test_readme_quickstart_is_the_docs_quickstart():
    """The README's examples are the first examples of docs/quickstart.rst, word for word."""
    readme = _examples((ROOT / "README.md").read_text())
    docs = _examples((DOCS / "quickstart.rst").read_text())
    assert readme and readme == docs[: len(readme)]


def test_readme_starts_with_the_two_commands():
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:6])
    assert "make demo" in head and "make test" in head


def test_readme_links_point_to_files_that_exist():
    links = re.findall(r"\]\(([^)#]+)\)", (ROOT / "README.md").read_text())
    assert links
    for link in links:
        if not link.startswith("http"):
            assert (ROOT / link).is_file(), link


@pytest.mark.parametrize("name", normalization.__all__)
def test_every_norm_module_has_a_page_with_the_reference_sections(name):
    page = DOCS / "norms" / f"{name}.rst"
    text = page.read_text()
    assert f".. autoclass:: lucid.nn.{name}" in text
    headings = re.findall(r"^(.+)\n-{3,}$", text, flags=re.M)
    assert headings == SECTIONS
    assert len(_examples(text)) >= 5  # the examples are doctests, run by pytest's --doctest-glob
    assert re.search(rf"^   {name}$", (DOCS / "norms" / "index.rst").read_text(), flags=re.M)


def test_docs_site_builds_without_warnings(tmp_path):
    """The same build as `make docs` (warnings are errors), with the builder that writes nothing."""
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-E", "-q", "-b", "dummy", str(DOCS), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
