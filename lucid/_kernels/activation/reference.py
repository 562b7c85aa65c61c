"""The activation kernels in NumPy: the specification the compiled backend must match.

Every call takes plain arrays and returns a new array of the input's dtype. A forward returns
y; a backward takes the incoming gradient g and what the forward's Function saved (x, or y
where the derivative is cheapest from the output) and returns dx:

    relu        y = max(x, 0)                      dx = g·[y > 0]
    leaky_relu  y = x if x > 0 else s·x            dx = g if x > 0 else s·g
    gelu        y = x·Φ(x)                         dx = g·(Φ(x) + x·φ(x))
    gelu_tanh   y = x/2·(1 + tanh u)               dx = g·[(1 + t)/2 + x/2·(1 − t²)·u'],
                u = √(2/π)·(x + 0.044715x³)             t = tanh u, u' = √(2/π)·(1 + 3·0.044715x²)
    silu        y = x·σ(x)                         dx = g·σ(x)·(1 + x·(1 − σ(x)))
    sigmoid     y = σ(x) = 1/(1 + e⁻ˣ)             dx = g·y·(1 − y)
    tanh        y = tanh x                         dx = g·(1 − y²)

Φ is the standard normal CDF, φ its density. Φ is taken through erfc for negative x, so its
relative accuracy holds in the far left tail too (where x·Φ(x) is tiny but not zero).
"""

import math

import numpy as np

K_TANH = math.sqrt(2 / math.pi)
C_TANH = 0.044715
INV_SQRT2 = 1 / math.sqrt(2)
INV_SQRT2PI = 1 / math.sqrt(2 * math.pi)


# ---- erfc without SciPy: the specification of Φ --------------------------------------------
_ERF_CUT = 2.0  # below: the power series; above: the continued fraction for erfc


def _exp_minus_square(z):
    """exp(−z²) with z² split in an exact part and a small part, so that large z lose no digits."""
    hi = np.floor(z * 4096) / 4096  # few enough bits that hi·hi is exact
    return np.exp(-hi * hi) * np.exp(-(z - hi) * (z + hi))


def _erf_series(z):
    """erf z = (2/√π)·e^(−z²)·Σₙ (2z²)ⁿ·z / (1·3·5···(2n+1)): every term positive, so no cancellation."""
    term = z.copy()
    total = z.copy()
    two_z2 = 2 * z * z
    n = 0
    while True:
        term = term * two_z2 / (2 * n + 3)
        total += term
        n += 1
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    return 2 / math.sqrt(math.pi) * _exp_minus_square(z) * total


def _erfc_cf(z, depth=60):
    """erfc z = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))) for z ≥ 2, evaluated from the tail."""
    t = z.copy()
    for k in range(depth, 0, -1):
        t = z + (k / 2) / t
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(z), 0.0, _exp_minus_square(z) / (math.sqrt(math.pi) * t))


def erfc_pos(a):
    """erfc of a float64 array a ≥ 0 (or NaN), to a relative accuracy of about 1e-13 and better."""
    out = np.empty_like(a)
    small = a < _ERF_CUT
    out[small] = 1 - _erf_series(a[small])
    out[~small] = _erfc_cf(a[~small])
    return out


def normal_cdf(x):
    """Φ(x) = (1 + erf(x/√2))/2 in float64, accurate in relative terms for negative x too (via erfc)."""
    x = np.asarray(x, dtype=np.float64)
    half_tail = 0.5 * erfc_pos(np.abs(x) * INV_SQRT2)  # = Φ(−|x|)
    return np.where(x < 0, half_tail, 1 - half_tail)


def _sigmoid(x):
    e = np.exp(-np.abs(x))  # split by sign so exp never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


# ---- the kernels ---------------------------------------------------------------------------
def relu_forward(x):
    return np.maximum(x, 0)


def relu_backward(g, y):
    """g where y > 0 or y is NaN (a NaN input passes its gradient, as in PyTorch), else 0."""
    return np.where(y <= 0, 0, g).astype(g.dtype, copy=False)


def leaky_relu_forward(x, slope):
    return np.where(x > 0, x, x * slope).astype(x.dtype, copy=False)


def leaky_relu_backward(g, x, slope):
    return np.where(x > 0, g, g * slope).astype(g.dtype, copy=False)


def gelu_forward(x):
    with np.errstate(invalid="ignore"):  # −inf·0 is NaN, as in PyTorch
        return (x * normal_cdf(x)).astype(x.dtype, copy=False)


def gelu_backward(g, x, y=None):
    """y, the forward's output, may be given (the compiled kernel takes Φ(x) = y/x from it); the
    specification computes Φ(x) from x."""
    x64 = x.astype(np.float64)
    pdf = np.exp(-0.5 * x64 * x64) * INV_SQRT2PI
    with np.errstate(invalid="ignore"):
        return (g * (normal_cdf(x64) + x64 * pdf)).astype(g.dtype, copy=False)


def gelu_tanh_forward(x):
    t = np.tanh(K_TANH * (x + C_TANH * x * x * x))
    return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)


def gelu_tanh_backward(g, x):
    t = np.tanh(K_TANH * (x + C_TANH * x * x * x))
    du = K_TANH * (1 + 3 * C_TANH * x * x)
    return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)).astype(g.dtype, copy=False)


def silu_forward(x):
    return x * _sigmoid(x)


def silu_backward(g, x):
    s = _sigmoid(x)
    return g * s * (1 + x * (1 - s))


def sigmoid_forward(x):
    return _sigmoid(x)


def sigmoid_backward(g, y):
    return g * y * (1 - y)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(g, y):
    return g * (1 - y * y)


def erf(x):
    """The error function erf x = (2/√π)·∫₀ˣ e^(−t²) dt, elementwise on a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < _ERF_CUT
    out[small] = _erf_series(x[small])
    out[~small] = np.sign(x[~small]) * (1 - _erfc_cf(np.abs(x[~small])))
    return out
