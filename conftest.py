"""Marks for the whole suite: every doctest (docs pages, README, docstrings) and tests/test_docs.py are
``docs``, so ``pytest -m "not docs"`` runs the core suite without the documentation tools."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if isinstance(item, pytest.DoctestItem) or item.nodeid.startswith("tests/test_docs.py"):
            item.add_marker(pytest.mark.docs)
