"""ParameterList and ParameterDict: registered like PyTorch's (names, state dict, optimizer, repr)."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid import optim


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.ws = nn.ParameterList([lucid.Tensor(np.full((2, 2), 1.0)), nn.Parameter(np.full(2, 2.0))])
        self.extra = nn.ParameterDict({"scale": nn.Parameter(np.ones(1)), "bias": lucid.Tensor(np.zeros(2))})

    def forward(self, x):
        return ((x @ self.ws[0] + self.ws[1]) * self.extra["scale"] + self.extra["bias"]).sum()


class TorchModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ws = torch.nn.ParameterList([torch.full((2, 2), 1.0), torch.nn.Parameter(torch.full((2,), 2.0))])
        self.extra = torch.nn.ParameterDict({"scale": torch.nn.Parameter(torch.ones(1)), "bias": torch.zeros(2)})


def test_names_and_state_dict_match_torch():
    m, tm = Model(), TorchModel()
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(m.state_dict()) == list(tm.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    x = lucid.Tensor(np.ones((3, 2)))
    m(x).backward()
    opt = optim.SGD(m.parameters(), lr=0.1)
    opt.step()
    np.testing.assert_allclose(m.extra["bias"].data, [-0.3, -0.3])
    np.testing.assert_allclose(m.ws[1].data, [1.7, 1.7])


def test_parameter_list_behaves_as_a_list():
    pl = nn.ParameterList()
    pl.append(lucid.Tensor(np.ones(3)))
    pl += [nn.Parameter(np.zeros((2, 2)))]
    pl.extend([lucid.Tensor(np.ones(1))])
    assert len(pl) == 3 and pl[-1].shape == (1,) and [p.shape for p in pl] == [(3,), (2, 2), (1,)]
    assert len(pl[1:]) == 2 and pl[1:][0] is pl[1]
    p = nn.Parameter(np.ones(4))
    pl[0] = p
    assert pl[0] is p and dict(pl.named_parameters())["0"] is p
    with pytest.raises(IndexError, match="out of range"):
        pl[3]
    with pytest.raises(TypeError, match="iterable"):
        pl.extend(lucid.Tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl(1)
    tl = torch.nn.ParameterList(
        [
            torch.nn.Parameter(torch.ones(4, dtype=torch.float64)),
            torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64)),
            torch.nn.Parameter(torch.ones(1, dtype=torch.float64)),
        ]
    )
    assert repr(pl) == repr(tl).replace("torch.", "lucid.")


def test_parameter_dict_behaves_as_a_dict():
    pd = nn.ParameterDict(OrderedDict([("z", lucid.Tensor(np.ones(1))), ("a", lucid.Tensor(np.ones(2)))]))
    assert list(pd) == ["z", "a"]  # an OrderedDict keeps its order
    assert list(nn.ParameterDict({"z": lucid.Tensor(np.ones(1)), "a": lucid.Tensor(np.ones(2))})) == ["a", "z"]
    pd["m"] = nn.Parameter(np.zeros(3))
    assert "m" in pd and len(pd) == 3 and pd.get("q") is None
    assert [k for k, _ in pd.named_parameters()] == ["z", "a", "m"]
    assert pd.pop("z").shape == (1,) and list(pd.keys()) == ["a", "m"]
    assert pd.setdefault("n", lucid.Tensor(np.ones(5))).shape == (5,)
    assert pd.popitem()[0] == "n"
    c = pd.copy()
    assert list(c) == ["a", "m"] and c["a"] is pd["a"]
    with pytest.raises(KeyError):
        pd["nope"]
    with pytest.raises(TypeError, match="parameter name should be a string"):
        pd[1] = lucid.Tensor(np.ones(1))
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        pd.update([("a", 1, 2)])
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []
    assert repr(nn.ParameterDict({"w": nn.Parameter(np.ones((2, 3)))})) == (
        "ParameterDict(  (w): Parameter containing: [lucid.float64 of size 2x3])"
    )  # one line, as in PyTorch
