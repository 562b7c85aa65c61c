"""Optimizers: SGD, Adam, AdamW, RMSprop, Adagrad, and ``lr_scheduler`` (StepLR, MultiStepLR,
ExponentialLR, PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, LambdaLR,
LinearLR, SequentialLR, ReduceLROnPlateau).

An optimizer updates each parameter's ``.data`` in place from its ``.grad``::

    opt = lucid.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
