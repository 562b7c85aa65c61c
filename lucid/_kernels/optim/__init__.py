"""Optimizer kernels: the NumPy reference (the specification) and its compiled twin."""
