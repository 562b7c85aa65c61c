"""``Dropout``."""
from ..functional.dropout import dropout
from ..module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """``Dropout(p=0.5)``: in training mode zero each element with probability ``p`` and scale the rest
    by 1/(1 − p); in eval mode the identity."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
