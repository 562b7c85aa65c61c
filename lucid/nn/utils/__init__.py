"""Training utilities with PyTorch's names: gradient clipping, parameters as one flat vector."""

from .clip_grad import *  # noqa: F401,F403  clip_grad_norm_, clip_grad_value_, get_total_norm, ...
from .convert_parameters import *  # noqa: F401,F403  parameters_to_vector, vector_to_parameters
