"""The optimizer updates in NumPy: the specification the compiled backend must match.

Each call updates a parameter's array ``p`` and its state arrays in place from the gradient ``g``
(never written), with PyTorch's update rule; the hyperparameters are Python numbers.

    sgd    g ← −g if maximize;  g ← g + weight_decay·p
           b ← g on the first step, else b ← momentum·b + (1 − dampening)·g
           g ← g + momentum·b if nesterov, else g ← b   (without momentum: g as it is)
           p ← p − lr·g
    adam   g ← −g if maximize;  p ← p·(1 − lr·weight_decay) if decoupled, else g ← g + weight_decay·p
           m ← m + (1 − β₁)·(g − m);   v ← β₂·v + (1 − β₂)·g²
           v̂ ← max(v̂, v) if amsgrad, else v
           p ← p − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

In ``adam`` the step t counts this update (1 on the first); ε is added after the bias correction
of √v̂, as PyTorch does.
"""

import numpy as np


def sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step):
    """One SGD step on ``p``; ``buf`` is the momentum buffer (None without momentum), filled on the
    ``first_step`` (its values are then not read)."""
    if maximize:
        g = np.negative(g)
    if weight_decay != 0:
        decayed = p * weight_decay
        decayed += g
        g = decayed
    if momentum != 0:
        if first_step:
            buf[...] = g
        else:
            buf *= momentum
            damp = 1 - dampening
            buf += g if damp == 1 else damp * g
        if nesterov:
            ahead = buf * momentum
            ahead += g
            g = ahead
        else:
            g = buf
    step = g * lr
    p -= step


def adam(p, g, m, v, vmax, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize):
    """One Adam step (AdamW's with ``decoupled``) on ``p``: ``m`` and ``v`` the moving averages of g and
    g², ``vmax`` the largest v so far (None without ``amsgrad``), ``step`` this update's count t."""
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    work = np.subtract(g, m)  # one scratch array for the whole update
    work *= 1 - beta1
    m += work
    np.multiply(g, g, out=work)
    work *= 1 - beta2
    v *= beta2
    v += work
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    step_size = lr / (1 - beta1**step)
    np.sqrt(v, out=work)
    work /= (1 - beta2**step) ** 0.5
    work += eps
    np.divide(m, work, out=work)
    work *= step_size
    p -= work
