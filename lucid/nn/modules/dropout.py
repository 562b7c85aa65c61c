"""``Dropout``, and ``Dropout1d``/``Dropout2d`` (whole channels)."""

from ..._tensor import Tensor
from ..functional.dropout import dropout, dropout1d, dropout2d
from ..module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class Dropout(Module):
    """``Dropout(p=0.5)``: in training mode zero each element with probability ``p`` and scale the rest
    by 1/(1 − p); in eval mode the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """``Dropout1d(p=0.5)``: in training mode zero each channel of (N, C, L) or (C, L) with probability ``p``
    and scale the rest by 1/(1 − p)."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """``Dropout2d(p=0.5)``: in training mode zero each channel of (N, C, H, W) with probability ``p`` and
    scale the rest by 1/(1 − p) (a 3-D input is (N, C, L), as in PyTorch)."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
