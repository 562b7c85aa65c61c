"""dtypes: lucid's dtypes are NumPy's, under PyTorch's names."""
import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

half, float, double = float16, float32, float64
int, long = int32, int64

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
    return np.issubdtype(dtype, np.floating)
