"""All parameters as one flat vector, and back."""

from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and laid end to end (a differentiable ``cat`` of their ``view(-1)``)."""
    from ... import ops

    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return ops.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into each parameter's data, in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    need = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() < need:
        raise RuntimeError(
            f"vector_to_parameters: expected a 1-D vector of at least {need} elements (got shape {tuple(vec.shape)})"
        )
    pointer = 0
    for p in parameters:
        n = p.numel()
        np.copyto(p.data, vec.data[pointer : pointer + n].reshape(p.shape), casting="unsafe")
        pointer += n
