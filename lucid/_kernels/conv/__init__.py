"""Convolution kernels: the NumPy reference (im2col + matrix product) and its compiled twin."""
