"""Kernels: hot loops on plain arrays, no Tensor, no autograd.

One folder per family (``norm``, ...), each with two backends that answer the same calls:
``reference.py`` (NumPy, the specification) and ``compiled.py`` (numba). Which one runs is
chosen by ``lucid.backends``; nothing here imports numba.
"""

import os

# numba's parallel loops run on OpenMP threads, and NumPy's matrix products on the BLAS library's
# threads, on the same cores one after the other. OpenMP threads that spin after a loop (the default)
# take the cores from the next matrix product; passive waiting puts them to sleep at once. Read when
# numba starts its pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
