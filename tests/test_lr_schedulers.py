"""LambdaLR, LinearLR, SequentialLR (warm-up then cosine), ReduceLROnPlateau: PyTorch's lr sequences, exactly."""

import math
import pickle

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as theirs

import lucid.nn as nn
from lucid import optim
from lucid.optim import lr_scheduler as ours

LRS = (0.1, 0.03)


def optimizers():
    o = optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": lr} for lr in LRS], lr=1.0)
    t = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": lr} for lr in LRS], lr=1.0)
    return o, t


def same_lrs(opt, sched, topt, tsched):
    assert sched.get_last_lr() == tsched.get_last_lr()  # the same float operations: equal to the bit
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in topt.param_groups]


class Warmup:
    """A callable object: its ``__dict__`` is in LambdaLR's state dict."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


def warm_cos(m, opt):
    return m.SequentialLR(
        opt,
        [m.LinearLR(opt, start_factor=0.01, total_iters=10), m.CosineAnnealingLR(opt, T_max=30, eta_min=1e-4)],
        milestones=[10],
    )


SCHEDULES = {
    "lambda": lambda m, o: m.LambdaLR(o, lambda e: 0.97**e),
    "lambda-list": lambda m, o: m.LambdaLR(o, [lambda e: 0.9**e, Warmup(5)]),
    "linear": lambda m, o: m.LinearLR(o),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=17),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.001, total_iters=25),
    "warmup-cosine": warm_cos,
    "three-phases": lambda m, o: m.SequentialLR(
        o,
        [m.LinearLR(o, 0.1, total_iters=4), m.StepLR(o, 3, gamma=0.5), m.LambdaLR(o, lambda e: 1 / (1 + e))],
        milestones=[5, 12],
    ),
    "const-then-linear": lambda m, o: m.SequentialLR(
        o, [m.LambdaLR(o, lambda e: 1.0), m.LinearLR(o, 1.0, 0.0, total_iters=20)], milestones=[3]
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch_over_many_steps(name):
    opt, topt = optimizers()
    sched, tsched = SCHEDULES[name](ours, opt), SCHEDULES[name](theirs, topt)
    same_lrs(opt, sched, topt, tsched)
    for epoch in range(60):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        same_lrs(opt, sched, topt, tsched)
        assert sched.last_epoch == tsched.last_epoch == epoch + 1


def test_warmup_then_cosine_shape():
    opt, _ = optimizers()
    sched = warm_cos(ours, opt)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(40):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert abs(lrs[0] - 0.001) < 1e-15 and abs(lrs[10] - 0.1) < 1e-15 and abs(lrs[40] - 1e-4) < 1e-15
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11]))  # warming up
    assert all(a > b for a, b in zip(lrs[10:40], lrs[11:41]))  # cooling down


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_resumes_the_schedule(name):
    opt, _ = optimizers()
    sched = SCHEDULES[name](ours, opt)
    for _ in range(7):
        sched.step()
    state = pickle.loads(pickle.dumps(sched.state_dict()))  # what a checkpoint holds
    assert "optimizer" not in state
    opt2, _ = optimizers()
    opt2.load_state_dict(opt.state_dict())
    sched2 = SCHEDULES[name](ours, opt2)
    sched2.load_state_dict(state)
    for g, g2 in zip(opt.param_groups, opt2.param_groups):
        g2["lr"] = g["lr"]
    for _ in range(30):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


def test_lambda_state_dict_keeps_callable_objects_only():
    opt, topt = optimizers()
    f = Warmup(5)
    sched = ours.LambdaLR(opt, [lambda e: 1.0, f])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"n": 5}]
    f.n = 9
    sched.load_state_dict(state)
    assert f.n == 5 and state["lr_lambdas"] == [None, {"n": 5}]


@pytest.mark.parametrize("epoch", [0, 3, 12, 25])
def test_step_with_epoch_uses_the_closed_form(epoch):
    for make in (
        lambda m, o: m.LinearLR(o, 0.2, total_iters=15),
        lambda m, o: m.CosineAnnealingLR(o, 20, 0.01),
        lambda m, o: m.StepLR(o, 4, 0.3),
    ):
        opt, topt = optimizers()
        sched, tsched = make(ours, opt), make(theirs, topt)
        with pytest.warns(UserWarning, match="epoch parameter"):
            sched.step(epoch)
        with pytest.warns(UserWarning):
            tsched.step(epoch)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-15)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05),
    dict(patience=1, threshold_mode="abs", threshold=0.01, cooldown=2, min_lr=0.004),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=[0.01, 0.001], factor=0.3),
    dict(patience=0, factor=0.5, eps=0.02),
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch(kwargs):
    opt, topt = optimizers()
    sched, tsched = ours.ReduceLROnPlateau(opt, **kwargs), theirs.ReduceLROnPlateau(topt, **kwargs)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.02 * rng.standard_normal(40)])
    metrics[25] = math.nan  # a NaN metric is never better
    for k, m in enumerate(metrics):
        sched.step(m if k % 2 else lucid_scalar(m))
        tsched.step(m)
        same_lrs(opt, sched, topt, tsched)
        assert (sched.num_bad_epochs, sched.cooldown_counter, sched.best, sched.last_epoch) == (
            tsched.num_bad_epochs,
            tsched.cooldown_counter,
            tsched.best,
            tsched.last_epoch,
        )
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2, _ = optimizers()
    sched2 = ours.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(state)
    assert sched2.mode == sched.mode and sched2.mode_worse == sched.mode_worse and sched2.best == sched.best


def lucid_scalar(v):
    import lucid

    return lucid.Tensor(np.asarray(v))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda o: ours.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
        (lambda o: ours.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor"),
        (lambda o: ours.LinearLR(o, start_factor=1.5), ValueError, "Starting multiplicative factor"),
        (lambda o: ours.LinearLR(o, end_factor=-0.1), ValueError, "Ending multiplicative factor"),
        (lambda o: ours.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
        (lambda o: ours.SequentialLR(o, [ours.LinearLR(o)], [3]), ValueError, "one more than the number of milestone"),
        (
            lambda o: ours.SequentialLR(o, [ours.LinearLR(o), ours.ReduceLROnPlateau(o)], [3]),
            ValueError,
            "does not support `ReduceLROnPlateau`",
        ),
        (lambda o: ours.SequentialLR(o, [ours.LinearLR(optimizers()[0])], []), ValueError, "same optimizer"),
        (lambda o: ours.SequentialLR(o, [object()], []), TypeError, "should have `optimizer`"),
        (lambda o: ours.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
        (lambda o: ours.ReduceLROnPlateau(o, mode="low"), ValueError, "mode low is unknown"),
        (lambda o: ours.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold mode pct is unknown"),
        (lambda o: ours.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
        (lambda o: ours.ReduceLROnPlateau(object()), TypeError, "is not an Optimizer"),
    ],
)
def test_bad_arguments(make, error, message):
    opt, _ = optimizers()
    with pytest.raises(error, match=message):
        make(opt)


def test_bad_arguments_leave_the_optimizer_alone():
    opt, _ = optimizers()
    for make in (
        lambda: ours.LinearLR(opt, start_factor=2.0),
        lambda: ours.ReduceLROnPlateau(opt, mode="x"),
        lambda: ours.LambdaLR(opt, [lambda e: 0.5]),
    ):
        with pytest.raises(ValueError):
            make()
        assert [g["lr"] for g in opt.param_groups] == list(LRS)
        assert all("initial_lr" not in g for g in opt.param_groups)


def test_plateau_with_a_new_param_group():
    opt, _ = optimizers()
    sched = ours.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 0.5})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was initialized"):
        sched.step(2.0)
