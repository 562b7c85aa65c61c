"""Checkpoints: ``lucid.save(state_dict, path)`` and ``lucid.load(path)`` in the safetensors format.

A safetensors file is a small JSON header (each name's dtype, shape and byte
range) followed by the raw little-endian bytes of every array. It holds no code,
so loading one cannot run anything, and the same file opens in any framework
that reads safetensors (``safetensors.torch.load_file`` gives PyTorch tensors).
"""
import os

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ._tensor import Tensor

__all__ = ["save", "load"]


def _array(name, value):
    """The contiguous little-endian array safetensors stores for ``value``."""
    if isinstance(value, Tensor):
        arr = value.data
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
    else:
        raise TypeError(f"lucid.save stores a flat dict of name -> Tensor (or array); "
                        f"the value for {name!r} is a {type(value).__name__}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"lucid.save: the array for {name!r} has dtype {arr.dtype}, which safetensors cannot store")
    # (not np.ascontiguousarray: it turns a 0-d array, like num_batches_tracked, into shape (1,))
    return arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)


def save(state_dict, path, metadata=None):
    """Write ``state_dict`` (name -> Tensor) to ``path`` as safetensors; ``metadata`` is an optional str -> str dict."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"lucid.save expects a dict of name -> Tensor (got {type(state_dict).__name__})")
    for name in state_dict:
        if not isinstance(name, str):
            raise TypeError(f"lucid.save: every name must be a str (got {name!r})")
    arrays = {name: _array(name, value) for name, value in state_dict.items()}
    save_file(arrays, os.fspath(path), metadata=metadata)


def load(path):
    """Read a safetensors file into a dict of name -> Tensor. A damaged file raises ValueError naming it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"lucid.load: no such file: {path!r}")
    try:
        arrays = load_file(path)
    except SafetensorError as e:
        raise ValueError(f"lucid.load: {path!r} is not a valid safetensors file (corrupt or truncated?): {e}") from None
    return {name: Tensor(arr if arr.flags.writeable else arr.copy()) for name, arr in arrays.items()}
