"""LambdaLR, LinearLR, SequentialLR (warm-up then cosine), ReduceLROnPlateau, ExponentialLR, MultiStepLR,
PolynomialLR, CosineAnnealingWarmRestarts, OneCycleLR: PyTorch's lr (and momentum) sequences, exactly."""

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
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[4, 11, 11, 30], gamma=0.5),
    "polynomial": lambda m, o: m.PolynomialLR(o),
    "polynomial-0.9": lambda m, o: m.PolynomialLR(o, total_iters=40, power=0.9),
    "polynomial-2": lambda m, o: m.PolynomialLR(o, total_iters=23, power=2.0),
    "warm-restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "warm-restarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3),
    "one-cycle": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.3], total_steps=61, cycle_momentum=False),
    "one-cycle-linear-3": lambda m, o: m.OneCycleLR(
        o, 0.5, epochs=7, steps_per_epoch=9, anneal_strategy="linear", three_phase=True, cycle_momentum=False
    ),
    "exp-then-warm-restarts": lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, 0.8), m.CosineAnnealingWarmRestarts(o, 5, 2)], milestones=[6]
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
        lambda m, o: m.ExponentialLR(o, 0.9),
        lambda m, o: m.MultiStepLR(o, [2, 12, 12, 20], 0.4),
        lambda m, o: m.PolynomialLR(o, 18, 1.5),
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


def momentum_optimizers(kind):
    """Two groups of different lrs on SGD with momentum, or on Adam (OneCycleLR then cycles beta1)."""
    groups = [{"lr": lr} for lr in LRS]
    params = [{"params": [nn.Parameter(np.ones(1))], **g} for g in groups]
    tparams = [{"params": [torch.ones(1, requires_grad=True)], **g} for g in groups]
    if kind == "sgd":
        return optim.SGD(params, lr=1.0, momentum=0.9), torch.optim.SGD(tparams, lr=1.0, momentum=0.9)
    return optim.Adam(params, betas=(0.9, 0.99)), torch.optim.Adam(tparams, betas=(0.9, 0.99))


def step_all(*pairs):
    """``optimizer.step()`` then ``scheduler.step()`` for each (optimizer, scheduler) pair, as training does."""
    for opt, sched in pairs:
        opt.step()
        sched.step()


def same_momenta(opt, topt):
    key = "betas" if "betas" in opt.defaults else "momentum"
    ours_, theirs_ = [g[key] for g in opt.param_groups], [g[key] for g in topt.param_groups]
    assert ours_ == [tuple(v) if key == "betas" else v for v in theirs_]


ONE_CYCLE = {
    "defaults": dict(max_lr=0.8, total_steps=50),
    "per-group": dict(max_lr=[1.0, 0.2], total_steps=73, base_momentum=[0.8, 0.7], max_momentum=[0.95, 0.9]),
    "linear": dict(max_lr=0.5, epochs=8, steps_per_epoch=6, anneal_strategy="linear", pct_start=0.4),
    "three-phase": dict(max_lr=[0.6, 0.9], total_steps=64, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "three-phase-linear": dict(max_lr=0.3, total_steps=37, three_phase=True, anneal_strategy="linear", pct_start=0.25),
    "no-momentum": dict(max_lr=0.4, total_steps=30, cycle_momentum=False),
}


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(ONE_CYCLE))
def test_one_cycle_matches_torch_lrs_and_momenta(name, kind):
    opt, topt = momentum_optimizers(kind)
    kwargs = ONE_CYCLE[name]
    sched, tsched = ours.OneCycleLR(opt, **kwargs), theirs.OneCycleLR(topt, **kwargs)
    same_lrs(opt, sched, topt, tsched)
    same_momenta(opt, topt)
    for _ in range(sched.total_steps - 1):
        step_all((opt, sched), (topt, tsched))
        same_lrs(opt, sched, topt, tsched)
        same_momenta(opt, topt)
    for g, tg in zip(opt.param_groups, topt.param_groups):
        for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
            assert g.get(key) == tg.get(key)
    sched.step()  # the step after the last one: PyTorch allows it, and raises on the next
    tsched.step()
    same_lrs(opt, sched, topt, tsched)
    with pytest.raises(ValueError, match=f"Tried to step {sched.total_steps + 1} times"):
        sched.step()


def test_one_cycle_shape():
    opt, _ = momentum_optimizers("sgd")
    sched = ours.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=100, pct_start=0.25, final_div_factor=1e3)
    lrs, momenta = [sched.get_last_lr()], [[g["momentum"] for g in opt.param_groups]]
    for _ in range(99):
        sched.step()
        lrs.append(sched.get_last_lr())
        momenta.append([g["momentum"] for g in opt.param_groups])
    np.testing.assert_allclose(lrs[0], [0.04, 0.02], rtol=1e-15)  # max_lr / div_factor
    np.testing.assert_allclose(lrs[24], [1.0, 0.5], rtol=1e-15)  # the peak, at step pct_start·total − 1
    np.testing.assert_allclose(lrs[99], [4e-5, 2e-5], rtol=1e-12)  # initial / final_div_factor
    np.testing.assert_allclose(momenta[0], [0.95, 0.95], rtol=1e-15)
    np.testing.assert_allclose(momenta[24], [0.85, 0.85], rtol=1e-15)  # momentum moves against the lr
    np.testing.assert_allclose(momenta[99], [0.95, 0.95], rtol=1e-15)
    first = [lr[0] for lr in lrs]
    assert all(a < b for a, b in zip(first[:24], first[1:25]))
    assert all(a > b for a, b in zip(first[24:99], first[25:100]))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", ["per-group", "three-phase"])
def test_one_cycle_state_dict_resumes_lrs_and_momenta(name, kind):
    opt, topt = momentum_optimizers(kind)
    kwargs = ONE_CYCLE[name]
    sched, tsched = ours.OneCycleLR(opt, **kwargs), theirs.OneCycleLR(topt, **kwargs)
    for _ in range(20):
        step_all((opt, sched), (topt, tsched))
    opt_state = pickle.loads(pickle.dumps(opt.state_dict()))
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    assert "optimizer" not in state and state["last_epoch"] == 20
    opt2, _ = momentum_optimizers(kind)
    opt2.load_state_dict(opt_state)
    sched2 = ours.OneCycleLR(opt2, **kwargs)
    sched2.load_state_dict(state)
    for _ in range(30):
        step_all((opt2, sched2), (topt, tsched))
        same_lrs(opt2, sched2, topt, tsched)
        same_momenta(opt2, topt)


def test_one_cycle_loads_a_torch_state_dict():
    opt, topt = momentum_optimizers("adam")
    kwargs = ONE_CYCLE["three-phase-linear"]
    sched, tsched = ours.OneCycleLR(opt, **kwargs), theirs.OneCycleLR(topt, **kwargs)
    for _ in range(11):
        step_all((topt, tsched))
    sched.load_state_dict(tsched.state_dict())
    for g, tg in zip(opt.param_groups, topt.param_groups):
        g["lr"], g["betas"] = tg["lr"], tuple(tg["betas"])
    for _ in range(20):
        step_all((opt, sched), (topt, tsched))
        same_lrs(opt, sched, topt, tsched)
        same_momenta(opt, topt)


def test_one_cycle_resumes_with_last_epoch():
    """A new scheduler made with last_epoch=k on a loaded optimizer, as PyTorch resumes."""
    opt, topt = momentum_optimizers("sgd")
    kwargs = ONE_CYCLE["defaults"]
    sched, tsched = ours.OneCycleLR(opt, **kwargs), theirs.OneCycleLR(topt, **kwargs)
    for _ in range(15):
        step_all((opt, sched), (topt, tsched))
    opt2, topt2 = momentum_optimizers("sgd")
    opt2.load_state_dict(opt.state_dict())
    topt2.load_state_dict(topt.state_dict())
    sched2, tsched2 = ours.OneCycleLR(opt2, last_epoch=14, **kwargs), theirs.OneCycleLR(topt2, last_epoch=14, **kwargs)
    same_lrs(opt2, sched2, topt2, tsched2)
    assert sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(20):
        step_all((opt2, sched2), (topt2, tsched2))
        same_lrs(opt2, sched2, topt2, tsched2)
        same_momenta(opt2, topt2)


WARM_RESTARTS = [dict(T_0=5), dict(T_0=4, T_mult=2, eta_min=0.01), dict(T_0=2, T_mult=3)]
EPOCHS = [0, 0.25, 0.5, 1.75, 3, 4.5, 4.999, 5, 7.3, 12, 13.6, 2.2, 29.5, 30, 41.25, 0, 100.1]


@pytest.mark.parametrize("kwargs", WARM_RESTARTS)
def test_warm_restarts_with_fractional_epochs(kwargs):
    opt, topt = optimizers()
    sched, tsched = ours.CosineAnnealingWarmRestarts(opt, **kwargs), theirs.CosineAnnealingWarmRestarts(topt, **kwargs)
    for epoch in EPOCHS:
        for step in (lambda s: s.step(epoch), lambda s: s.step(), lambda s: s.step()):  # then carry on from there
            step(sched)
            step(tsched)
            np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=0)
            np.testing.assert_allclose([sched.T_cur, sched.T_i], [tsched.T_cur, tsched.T_i], rtol=1e-12, atol=1e-12)
            assert sched.last_epoch == tsched.last_epoch
            assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()


def test_warm_restarts_per_batch_values():
    opt, _ = optimizers()
    sched = ours.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.001)
    sched.step(1.5)
    lo, base = 0.001, LRS[0]
    assert abs(sched.get_last_lr()[0] - (lo + (base - lo) * (1 + math.cos(math.pi * 0.75)) / 2)) < 1e-15
    sched.step(2.0)  # a restart: the top again, and the next cycle is twice as long
    assert sched.get_last_lr() == list(LRS) and sched.T_i == 4 and sched.T_cur == 0
    sched.step(5.0)
    assert abs(sched.get_last_lr()[1] - (lo + (LRS[1] - lo) * (1 + math.cos(math.pi * 3 / 4)) / 2)) < 1e-15
    assert sched.last_epoch == 5


def test_warm_restarts_state_dict_round_trip_and_a_torch_state_dict():
    opt, topt = optimizers()
    sched, tsched = ours.CosineAnnealingWarmRestarts(opt, 3, 2), theirs.CosineAnnealingWarmRestarts(topt, 3, 2)
    for k in range(10):
        sched.step(k * 0.7)
        tsched.step(k * 0.7)
    resumed = []
    for source in (sched.state_dict(), tsched.state_dict()):
        s2 = ours.CosineAnnealingWarmRestarts(optimizers()[0], 3, 2)
        s2.load_state_dict(pickle.loads(pickle.dumps(source)))
        resumed.append(s2)
    for _ in range(25):
        for s in (sched, tsched, *resumed):
            s.step()
        assert resumed[0].get_last_lr() == resumed[1].get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in resumed[0].optimizer.param_groups] == sched.get_last_lr()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda o: ours.OneCycleLR(o, 0.1), ValueError, r"either total_steps OR \(epochs AND steps_per_epoch\)"),
        (lambda o: ours.OneCycleLR(o, 0.1, epochs=3), ValueError, "either total_steps OR"),
        (lambda o: ours.OneCycleLR(o, 0.1, total_steps=0), ValueError, "positive integer total_steps, but got 0"),
        (lambda o: ours.OneCycleLR(o, 0.1, total_steps=9.0), ValueError, "positive integer total_steps"),
        (lambda o: ours.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3), ValueError, "positive integer epochs"),
        (lambda o: ours.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1), ValueError, "integer steps_per_epoch"),
        (lambda o: ours.OneCycleLR(o, 0.1, total_steps=9, pct_start=1.5), ValueError, "between 0 and 1 pct_start"),
        (lambda o: ours.OneCycleLR(o, 0.1, total_steps=9, pct_start=0), ValueError, "between 0 and 1 pct_start"),
        (
            lambda o: ours.OneCycleLR(o, 0.1, total_steps=9, anneal_strategy="exp"),
            ValueError,
            "anneal_strategy must be one of 'cos' or 'linear', instead got exp",
        ),
        (
            lambda o: ours.OneCycleLR(o, [0.1], total_steps=9),
            ValueError,
            "max_lr must have the same length as optimizer.param_groups. max_lr has 1 values, param_groups has 2",
        ),
        (
            lambda o: ours.OneCycleLR(o, 0.1, total_steps=9, base_momentum=(0.8, 0.8, 0.8)),
            ValueError,
            "base_momentum must have the same length",
        ),
        (
            lambda o: ours.OneCycleLR(optim.Adagrad([nn.Parameter(np.ones(1))]), 0.1, total_steps=9),
            ValueError,
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled",
        ),
        (lambda o: ours.OneCycleLR(object(), 0.1, total_steps=9), TypeError, "object is not an Optimizer"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 0), ValueError, "Expected positive integer T_0, but got 0"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 2.5), ValueError, "Expected positive integer T_0"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 3, 0), ValueError, "Expected integer T_mult >= 1, but got 0"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 3, 1.5), ValueError, "Expected integer T_mult >= 1"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 3, eta_min="0"), ValueError, "float or int eta_min"),
        (lambda o: ours.CosineAnnealingWarmRestarts(o, 3).step(-1), ValueError, "Expected non-negative epoch"),
        (lambda o: ours.ExponentialLR(object(), 0.9), TypeError, "is not an Optimizer"),
    ],
)
def test_bad_arguments_of_the_cycles(make, error, message):
    opt, _ = optimizers()
    with pytest.raises(error, match=message):
        make(opt)


def test_torch_raises_the_same_errors():
    """The cases above that are PyTorch's contract, checked against PyTorch itself."""
    _, topt = optimizers()
    for make, message in [
        (lambda: theirs.OneCycleLR(topt, 0.1), "either total_steps OR"),
        (lambda: theirs.OneCycleLR(topt, 0.1, total_steps=0), "positive integer total_steps"),
        (lambda: theirs.OneCycleLR(topt, 0.1, epochs=2, steps_per_epoch=-1), "integer steps_per_epoch"),
        (lambda: theirs.OneCycleLR(topt, 0.1, total_steps=9, pct_start=0), "between 0 and 1 pct_start"),
        (lambda: theirs.OneCycleLR(topt, 0.1, total_steps=9, anneal_strategy="exp"), "anneal_strategy must be"),
        (lambda: theirs.OneCycleLR(topt, [0.1], total_steps=9), "max_lr must have the same length"),
        (
            lambda: theirs.OneCycleLR(torch.optim.Adagrad([torch.ones(1, requires_grad=True)]), 0.1, total_steps=9),
            "optimizer must support momentum or beta1",
        ),
        (lambda: theirs.CosineAnnealingWarmRestarts(topt, 0), "Expected positive integer T_0"),
        (lambda: theirs.CosineAnnealingWarmRestarts(topt, 3, 1.5), "Expected integer T_mult >= 1"),
        (lambda: theirs.CosineAnnealingWarmRestarts(topt, 3, eta_min="0"), "float or int eta_min"),
        (lambda: theirs.CosineAnnealingWarmRestarts(topt, 3).step(-1), "Expected non-negative epoch"),
    ]:
        with pytest.raises(ValueError, match=message):
            make()


def test_one_cycle_bad_arguments_leave_the_optimizer_alone():
    opt, _ = optimizers()
    before = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    for kwargs in (
        dict(total_steps=9, anneal_strategy="exp"),
        dict(total_steps=9, max_momentum=[0.9]),
        dict(total_steps=9, pct_start=2.0),
        dict(epochs=3),
    ):
        with pytest.raises(ValueError):
            ours.OneCycleLR(opt, 0.1, **kwargs)
        assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == before
