"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each is a context manager and a decorator; the mode is per thread.

>>> import lucid
>>> x = lucid.ones(2, requires_grad=True)
>>> with lucid.no_grad():
...     y = x * 2
>>> y.requires_grad
False
>>> @lucid.no_grad()
... def double(t):
...     return t * 2
>>> double(x).requires_grad, lucid.is_grad_enabled()
(False, True)
"""

import functools
import threading
from collections.abc import Callable
from typing import Any, Self


class _State(threading.local):
    enabled = True  # each thread starts with grad mode on (a class default: no per-call fallback needed)


_state = _State()


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default)."""
    return _state.enabled


def _set(mode):
    _state.enabled = bool(mode)


class _GradMode:
    """Runs a ``with`` body, or each call of a decorated function, with grad mode ``self.mode``."""

    mode = True

    def __new__(cls, *args):
        # bare decorator: ``@no_grad`` as well as ``@no_grad()``
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self) -> Self:
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc: object) -> bool:
        _set(self._prev)
        return False

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)

        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: their results do not require grad."""

    mode = False


class enable_grad(_GradMode):
    """Operations inside record a graph, even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` sets grad mode at once, like a function; used with ``with`` it
    restores the previous mode on exit, and as a decorator it applies ``mode`` to each call only."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)

    def __enter__(self) -> Self:
        return self

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        _set(self._prev)  # as a decorator it changes nothing until the function runs
        return super().__call__(fn)
