"""dtypes: lucid's dtypes are NumPy's, under PyTorch's names.

Every ``dtype=`` argument in lucid goes through ``as_dtype``, so it takes a lucid
dtype (``lucid.float32``), a NumPy dtype or type (``np.float32``), or a name
(``"float32"``, and PyTorch's short names ``"float"``, ``"double"``, ``"half"``,
``"int"``, ``"long"``, ``"bool"``, which mean what they mean in PyTorch:
``"float"`` is float32 and ``"int"`` is int32).
"""

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

half, double, long = float16, float64, int64

_NAMES = {"half": float16, "float": float32, "double": float64, "long": int64, "int": int32, "bool": bool_}


def as_dtype(dtype):
    """A NumPy dtype from a lucid dtype, a NumPy dtype or type, or a name; None stays None."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in _NAMES:
        return _NAMES[dtype]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"expected a dtype, a NumPy dtype or a dtype name (got {dtype!r})") from None


def is_floating(dtype):
    """True for float16/32/64."""
    return np.dtype(dtype).kind == "f"
