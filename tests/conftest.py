"""Shared pytest fixtures."""

import zlib

import numpy as np
import pytest

import lucid


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id: random data, the same on every run."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _fresh_lucid_state():
    """Every test starts with lucid's generator seeded and grad mode on."""
    lucid.manual_seed(0)
    lucid.set_grad_enabled(True)
    yield
    lucid.set_grad_enabled(True)
