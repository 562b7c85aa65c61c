"""One random generator for all of lucid; ``seed(n)`` makes every random function reproducible.

Every random draw in lucid (``rand``, ``randn``, ``randint``, weight initialization,
dropout masks, data shuffling) comes from ``generator()``, so one call to
``lucid.random.seed(n)`` (alias ``lucid.manual_seed(n)``) fixes all of them.

>>> import lucid
>>> _ = lucid.manual_seed(0); a = lucid.randn(3)
>>> _ = lucid.random.seed(0); b = lucid.randn(3)
>>> bool((a == b).data.all())
True
"""

import numpy as np

_rng = np.random.default_rng()


def seed(n: int) -> np.random.Generator:
    """Reseed lucid's generator with the integer ``n``; returns the new generator."""
    global _rng
    _rng = np.random.default_rng(int(n))
    return _rng


manual_seed = seed


def generator() -> np.random.Generator:
    """The ``np.random.Generator`` every random function of lucid draws from."""
    return _rng
