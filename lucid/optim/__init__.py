"""Optimizers: SGD, Adam, AdamW, and ``lr_scheduler`` (StepLR, CosineAnnealingLR).

An optimizer updates each parameter's ``.data`` in place from its ``.grad``::

    opt = lucid.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
