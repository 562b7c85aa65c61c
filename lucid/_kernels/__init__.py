"""Kernels: hot loops on plain arrays, no Tensor, no autograd.

One folder per family (``norm``, ...), each with two backends that answer the same calls:
``reference.py`` (NumPy, the specification) and ``compiled.py`` (numba). Which one runs is
chosen by ``lucid.backends``; nothing here imports numba.
"""
