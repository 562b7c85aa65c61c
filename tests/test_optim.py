"""Optimizers and schedulers follow torch.optim step for step (float64), and their state round-trips."""

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid import optim
from lucid.optim import lr_scheduler

SHAPES = [(3, 4), (4,), (2, 1, 3)]


def fake_grad(p, k):
    """A gradient that depends on the parameter (so a wrong update changes later gradients), step k."""
    return np.cos(p + k) + 0.1 * p**3 - 0.3


def run_pair(make_ours, make_theirs, steps=12, seed=0, groups=None, skip=None):
    """Run both optimizers on identical parameters and gradients; assert equal parameters after every step."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    if groups:  # the first parameter alone, with its own hyperparameters
        opt = make_ours([{"params": ours[:1], **groups}, {"params": ours[1:]}])
        topt = make_theirs([{"params": theirs[:1], **groups}, {"params": theirs[1:]}])
    else:
        opt, topt = make_ours(ours), make_theirs(theirs)
    for k in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        for i, (p, t) in enumerate(zip(ours, theirs)):
            if skip is not None and skip(i, k):
                continue  # this parameter gets no gradient this step: both must leave it alone
            g = fake_grad(p.data, k)
            p.grad = g
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-13)
    return opt, topt, ours, theirs


SGD_OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True),
    dict(lr=0.05, momentum=0.5, weight_decay=0.01, maximize=True),
]
ADAM_OPTIONS = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.02, amsgrad=True, weight_decay=0.05, maximize=True),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
]
ADAMW_OPTIONS = [dict(), dict(lr=0.01, weight_decay=0.3), dict(lr=0.01, amsgrad=True, maximize=True, eps=1e-4)]


@pytest.mark.parametrize("kw", SGD_OPTIONS)
def test_sgd_follows_torch(kw):
    run_pair(lambda p: optim.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw))


@pytest.mark.parametrize("kw", ADAM_OPTIONS)
def test_adam_follows_torch(kw):
    run_pair(lambda p: optim.Adam(p, **kw), lambda p: torch.optim.Adam(p, **kw))


@pytest.mark.parametrize("kw", ADAMW_OPTIONS)
def test_adamw_follows_torch(kw):
    run_pair(lambda p: optim.AdamW(p, **kw), lambda p: torch.optim.AdamW(p, **kw))


@pytest.mark.parametrize(
    "name, kw, group",
    [
        ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.01, nesterov=True)),
        ("Adam", dict(lr=0.01), dict(betas=(0.5, 0.6), weight_decay=0.2)),
        ("AdamW", dict(lr=0.01, amsgrad=True), dict(lr=0.1, amsgrad=False)),
    ],
)
def test_param_groups_and_missing_gradients(name, kw, group):
    # group 0 has its own hyperparameters; parameter 2 only gets a gradient every third step
    run_pair(
        lambda p: getattr(optim, name)(p, **kw),
        lambda p: getattr(torch.optim, name)(p, **kw),
        groups=group,
        skip=lambda i, k: i == 2 and k % 3,
    )


@pytest.mark.parametrize(
    "name, kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01))]
)
def test_state_dict_round_trip_and_resume(name, kw):
    opt, topt, ours, theirs = run_pair(
        lambda p: getattr(optim, name)(p, **kw), lambda p: getattr(torch.optim, name)(p, **kw), steps=4
    )
    sd, tsd = opt.state_dict(), topt.state_dict()
    # PyTorch's structure: state keyed by parameter index, groups listing indices
    assert sorted(sd) == ["param_groups", "state"]
    assert list(sd["state"]) == list(tsd["state"]) == [0, 1, 2]
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for i in sd["state"]:
        assert set(sd["state"][i]) == set(tsd["state"][i])
        for key, value in sd["state"][i].items():
            np.testing.assert_allclose(value, np.asarray(tsd["state"][i][key]), rtol=1e-12, atol=1e-13)
    # the dict is a snapshot: more steps do not change it
    saved = {i: {k: np.copy(v) for k, v in s.items()} for i, s in sd["state"].items()}
    for p in ours:
        p.grad = fake_grad(p.data, 9)
    opt.step()
    for i in saved:
        for k, v in saved[i].items():
            np.testing.assert_array_equal(sd["state"][i][k], v)

    # a fresh optimizer loaded from the dict continues exactly as the original
    clones = [nn.Parameter(p.data.copy()) for p in ours]
    fresh = getattr(optim, name)(clones, lr=123.0)  # hyperparameters come from the dict too
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == kw["lr"]
    for k in range(3):
        for a, b in zip(ours, clones):
            a.grad = fake_grad(a.data, k)
            b.grad = fake_grad(b.data, k)
        opt.step()
        fresh.step()
    for a, b in zip(ours, clones):
        np.testing.assert_array_equal(a.data, b.data)


def test_loading_torchs_optimizer_state_continues_torchs_trajectory():
    opt, topt, ours, theirs = run_pair(
        lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01), steps=3
    )
    fresh = optim.Adam([nn.Parameter(t.detach().numpy().copy()) for t in theirs])
    fresh.load_state_dict(topt.state_dict())
    params = fresh.param_groups[0]["params"]
    for k in range(3):
        topt.zero_grad()
        for p, t in zip(params, theirs):
            p.grad = fake_grad(p.data, k)
            t.grad = torch.tensor(p.grad)
        fresh.step()
        topt.step()
    for p, t in zip(params, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_bad_state_dict_leaves_the_optimizer_unchanged():
    ps = [nn.Parameter(np.ones((2, 2))), nn.Parameter(np.ones(3))]
    opt = optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = np.ones(p.shape)
    opt.step()
    before = opt.state_dict()
    other = optim.Adam([nn.Parameter(np.ones((2, 2)))]).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other)
    two_groups = optim.Adam([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))]}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    wrong_shape = opt.state_dict()
    wrong_shape["state"][1]["exp_avg"] = np.zeros(4)
    wrong_shape["param_groups"][0]["lr"] = 5.0
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(wrong_shape)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i in before["state"]:
        for k, v in before["state"][i].items():
            np.testing.assert_array_equal(after["state"][i][k], v)


def test_zero_grad():
    p = nn.Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, np.zeros(3))
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing moves
    np.testing.assert_array_equal(p.data, np.ones(3))


def test_step_with_closure_returns_the_loss():
    w = nn.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and w.data[0] == 3.0 - 0.25 * 6.0


def test_optimizer_trains_a_module():
    lucid.manual_seed(0)
    model = nn.Linear(3, 1).double()
    x = lucid.Tensor(np.random.default_rng(0).standard_normal((32, 3)))
    y = x @ lucid.Tensor(np.array([[1.0], [-2.0], [0.5]])) + 0.3
    opt = optim.Adam(model.parameters(), lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(model.weight.data, [[1.0, -2.0, 0.5]], atol=1e-2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-0.1), "Invalid momentum"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
        (lambda p: optim.Adam(p, eps=-1), "Invalid epsilon"),
        (lambda p: optim.AdamW(p, weight_decay=-1), "Invalid weight_decay"),
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: optim.SGD([{"params": p}, {"params": p[:1]}], lr=0.1), "more than one parameter group"),
        (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
        (lambda p: optim.SGD([{"params": set(p)}], lr=0.1), "ordered collections"),
    ],
)
def test_bad_arguments(call, message):
    params = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    with pytest.raises((ValueError, TypeError), match=message):
        call(params)


# ---- schedulers ------------------------------------------------------------------------------------------
def scheduler_pair(make_ours, make_theirs, lrs=(0.1, 0.03)):
    ours = optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": lr} for lr in lrs], lr=1.0)
    theirs = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)
    return ours, make_ours(ours), theirs, make_theirs(theirs)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=3), lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3)),
        (lambda o: lr_scheduler.StepLR(o, 2, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 2, gamma=0.5)),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7),
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        ),
    ],
)
def test_schedulers_follow_torch(ours, theirs):
    opt, sched, topt, tsched = scheduler_pair(ours, theirs)
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-14)
    for epoch in range(25):  # past T_max: the cosine climbs back up
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-13, atol=1e-15)
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
        assert sched.last_epoch == tsched.last_epoch == epoch + 1


def test_cosine_reaches_eta_min_and_scheduler_state_round_trips():
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.2)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.02)
    for _ in range(4):
        sched.step()
    assert abs(sched.get_last_lr()[0] - 0.02) < 1e-15
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 4 and state["base_lrs"] == [0.2]
    opt2 = optim.SGD([nn.Parameter(np.ones(1))], lr=0.2)
    opt2.load_state_dict(opt.state_dict())
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=4, eta_min=0.02)
    sched2.load_state_dict(state)
    for _ in range(3):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


def test_scheduler_bad_arguments():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), 2)
    opt = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, 2, last_epoch=3)
