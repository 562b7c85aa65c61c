"""``multinomial``: draw category indices from rows of non-negative weights."""

import numpy as np

from .. import random as _random
from .._tensor import Tensor

__all__ = ["multinomial"]


def multinomial(
    input: Tensor | np.ndarray,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """``num_samples`` indices per row of ``input`` (1-D or 2-D weights, not necessarily summing to 1),
    index i drawn with probability wᵢ/Σw. Without replacement each index comes at most once (each draw
    among those not drawn yet); int64, no gradient. Draws come from lucid's generator (``lucid.manual_seed``).
    """
    w = input.data if isinstance(input, Tensor) else np.asarray(input)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim (got {w.ndim}D)")
    if w.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {w.dtype}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = rows.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = generator if generator is not None else _random.generator()
    if replacement:  # inverse CDF: the first index whose running sum passes a uniform draw
        cdf = np.cumsum(rows / total, axis=1)
        u = rng.random((rows.shape[0], num_samples))
        out = np.stack([np.searchsorted(c, ui, side="right") for c, ui in zip(cdf, u)])
        out = np.minimum(out, rows.shape[1] - 1)
    else:  # Gumbel top-k: log w + Gumbel noise, largest k; the same law as drawing one by one without return
        with np.errstate(divide="ignore"):
            keys = np.log(rows) - np.log(-np.log(rng.random(rows.shape)))
        keys[rows == 0] = -np.inf
        if np.any(np.sum(rows > 0, axis=1) < num_samples):
            raise RuntimeError(
                "invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)"
            )
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor._from_array(out.astype(np.int64).reshape(w.shape[:-1] + (num_samples,)))
