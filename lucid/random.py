"""One random generator for all of lucid; ``seed(n)`` makes every random function reproducible."""
import numpy as np

_rng = np.random.default_rng()


def seed(n):
    """Reseed lucid's generator (also ``lucid.manual_seed``)."""
    global _rng
    _rng = np.random.default_rng(int(n))
    return _rng


def generator():
    """The generator every random function of lucid draws from."""
    return _rng
