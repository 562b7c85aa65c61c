"""RMSprop and Adagrad follow torch.optim step for step in float64, with every option; state round-trips."""

import numpy as np
import pytest
import torch
from test_optim import fake_grad, run_pair

import lucid.nn as nn
from lucid import optim

RMSPROP_OPTIONS = [
    dict(),
    dict(lr=0.005, alpha=0.9, eps=1e-6),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.05, maximize=True, alpha=0.5),
    dict(lr=0.01, alpha=0.0, foreach=False, capturable=False),
]
ADAGRAD_OPTIONS = [
    dict(),
    dict(lr=0.1, lr_decay=0.05),
    dict(lr=0.1, weight_decay=0.1, eps=1e-6),
    dict(lr=0.1, initial_accumulator_value=0.3),
    dict(lr=0.05, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.1, maximize=True, foreach=False),
]


@pytest.mark.parametrize("kw", RMSPROP_OPTIONS)
def test_rmsprop_follows_torch(kw):
    run_pair(lambda p: optim.RMSprop(p, **kw), lambda p: torch.optim.RMSprop(p, **kw), steps=15)


@pytest.mark.parametrize("kw", ADAGRAD_OPTIONS)
def test_adagrad_follows_torch(kw):
    run_pair(lambda p: optim.Adagrad(p, **kw), lambda p: torch.optim.Adagrad(p, **kw), steps=15)


@pytest.mark.parametrize(
    "name, kw, group",
    [
        ("RMSprop", dict(lr=0.01, momentum=0.9), dict(lr=0.001, centered=True)),
        ("Adagrad", dict(lr=0.1), dict(lr_decay=0.1, initial_accumulator_value=1.0)),
    ],
)
def test_param_groups_and_missing_gradients(name, kw, group):
    run_pair(
        lambda p: getattr(optim, name)(p, **kw),
        lambda p: getattr(torch.optim, name)(p, **kw),
        groups=group,
        skip=lambda i, k: i == 2 and k % 3,
    )


@pytest.mark.parametrize(
    "name, kw", [("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)), ("Adagrad", dict(lr=0.1, lr_decay=0.01))]
)
def test_state_dict_matches_torch_and_resumes(name, kw):
    opt, topt, ours, theirs = run_pair(
        lambda p: getattr(optim, name)(p, **kw), lambda p: getattr(torch.optim, name)(p, **kw), steps=4
    )
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert list(sd["state"]) == list(tsd["state"])
    for i in sd["state"]:
        assert set(sd["state"][i]) == set(tsd["state"][i])
        for key, value in sd["state"][i].items():
            np.testing.assert_allclose(value, np.asarray(tsd["state"][i][key]), rtol=1e-12, atol=1e-13)
    # a fresh lucid optimizer loaded from torch's dict continues torch's trajectory
    clones = [nn.Parameter(t.detach().numpy().copy()) for t in theirs]
    fresh = getattr(optim, name)(clones, lr=123.0)
    fresh.load_state_dict(tsd)
    for k in range(4):
        for p, t in zip(clones, theirs):
            p.grad = fake_grad(p.data, k)
            t.grad = torch.tensor(p.grad)
        fresh.step()
        topt.step()
    for p, t in zip(clones, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_adagrad_state_exists_before_any_step():
    p = nn.Parameter(np.ones((2, 3)))
    opt = optim.Adagrad([p], initial_accumulator_value=0.5)
    topt = torch.optim.Adagrad([torch.ones((2, 3), requires_grad=True)], initial_accumulator_value=0.5)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"][0]["step"] == 0 and float(tsd["state"][0]["step"]) == 0
    np.testing.assert_array_equal(sd["state"][0]["sum"], tsd["state"][0]["sum"].numpy())
    q = nn.Parameter(np.ones(2))
    opt.add_param_group({"params": [q], "lr": 0.1})
    q.grad = np.array([1.0, -2.0])
    opt.step()  # a group added later gets its state at its first step
    np.testing.assert_allclose(q.data, 1.0 - 0.1 * q.grad / (np.sqrt(0.5 + q.grad**2) + 1e-10), rtol=1e-15)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p: optim.RMSprop(p, lr=-1), ValueError, "Invalid learning rate: -1"),
        (lambda p: optim.RMSprop(p, eps=-1), ValueError, "Invalid epsilon value"),
        (lambda p: optim.RMSprop(p, momentum=-0.5), ValueError, "Invalid momentum value"),
        (lambda p: optim.RMSprop(p, weight_decay=-1), ValueError, "Invalid weight_decay value"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), ValueError, "Invalid alpha value"),
        (lambda p: optim.RMSprop(p, differentiable=True), ValueError, "differentiable=True is not supported"),
        (lambda p: optim.Adagrad(p, lr=-1), ValueError, "Invalid learning rate"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "Invalid lr_decay value"),
        (lambda p: optim.Adagrad(p, weight_decay=-1), ValueError, "Invalid weight_decay value"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), ValueError, "Invalid initial_accumulator_value"),
        (lambda p: optim.Adagrad(p, eps=-1), ValueError, "Invalid epsilon value"),
        (lambda p: optim.Adagrad(p, foreach=True, fused=True), RuntimeError, "cannot be `True` together"),
        (lambda p: optim.Adagrad([]), ValueError, "empty parameter list"),
    ],
)
def test_bad_arguments(call, error, message):
    params = [nn.Parameter(np.ones(2))]
    with pytest.raises(error, match=message):
        call(params)
