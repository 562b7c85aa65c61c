"""Whether operations record a graph: no_grad, enable_grad, set_grad_enabled."""
import functools
import threading

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "enabled", True)


def _set(mode):
    _state.enabled = bool(mode)


class _GradMode:
    """A context manager and decorator that runs its body with grad mode ``self.mode``."""

    mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
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
    """Operations inside record no graph."""

    mode = False


class enable_grad(_GradMode):
    """Operations inside record a graph, even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` sets grad mode at once; used with ``with`` it restores the old mode on exit."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set(self.mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set(self._prev)  # as a decorator it changes nothing until the function runs
        return super().__call__(fn)
