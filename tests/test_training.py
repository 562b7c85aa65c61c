"""End to end: lucid trains exactly as PyTorch does, and training does not leak memory."""

import gc
import resource

import numpy as np
import pytest
import torch
import torch.nn as tnn

import lucid
import lucid.nn as nn
from lucid.data import DataLoader, TensorDataset


def mlp(lib):
    return lib.Sequential(lib.Linear(20, 16), lib.ReLU(), lib.Linear(16, 12), lib.Tanh(), lib.Linear(12, 5))


def convnet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 4, 3, padding=1),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Conv2d(4, 6, 3, padding="same", groups=2),
        lib.ReLU(),
        lib.AvgPool2d(2),
        lib.Flatten(),
        lib.Linear(6 * 2 * 2, 5),
    )


def same_start(make):
    """A lucid model and a PyTorch model (float64) with the same initial weights: PyTorch's, copied over."""
    torch.manual_seed(0)
    theirs = make(tnn).double()
    ours = make(nn).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def data(shape, n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n,) + shape), rng.integers(0, 5, size=n)


@pytest.mark.parametrize("make, shape", [(mlp, (20,)), (convnet, (1, 8, 8))], ids=["mlp", "convnet"])
@pytest.mark.parametrize("opt, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_loss_trajectory_follows_pytorch(make, shape, opt, kwargs):
    ours, theirs = same_start(make)
    x, y = data(shape)
    opt_ours = getattr(lucid.optim, opt)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, opt)(theirs.parameters(), **kwargs)
    loss_ours, loss_theirs = nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    # 20 steps over minibatches of 16, in the same order on both sides
    loader = DataLoader(TensorDataset(lucid.Tensor(x), lucid.Tensor(y)), batch_size=16, shuffle=True, seed=0)
    traj_ours, traj_theirs = [], []
    while len(traj_ours) < 20:
        for xb, yb in loader:
            opt_ours.zero_grad()
            loss = loss_ours(ours(xb), yb)
            loss.backward()
            opt_ours.step()
            traj_ours.append(loss.item())

            opt_theirs.zero_grad()
            tloss = loss_theirs(theirs(torch.tensor(xb.data)), torch.tensor(yb.data))
            tloss.backward()
            opt_theirs.step()
            traj_theirs.append(tloss.item())
    np.testing.assert_allclose(traj_ours[:20], traj_theirs[:20], rtol=1e-8, atol=1e-10)
    assert traj_ours[19] < traj_ours[0]  # and it learns
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-8, atol=1e-10)


def rss_mb():
    """This process's resident memory now (MB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, in kB on Linux


def test_3000_training_steps_do_not_grow_memory():
    lucid.manual_seed(0)
    # small, but each step's graph holds ~100 KB: keeping even one step's worth alive would cost 300 MB
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    model.double()
    opt = lucid.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = lucid.Tensor(rng.standard_normal((16, 1, 8, 8)))
    y = lucid.Tensor(rng.integers(0, 3, size=16))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(100):  # warm up: caches, the allocator's pools
        step()
    gc.collect()
    before = rss_mb()
    losses = [step() for _ in range(3000)]
    gc.collect()
    grown = rss_mb() - before
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert grown < 30, f"memory grew by {grown:.1f} MB over 3000 steps"
