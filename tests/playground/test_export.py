"""A playground network exported as a PyTorch module file: written, imported, and
compared with the NumPy network on a 50×50 grid of the map."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from dlplay.playground import Playground, PlaygroundState, export
from dlplay.playground.custom import from_points


def three_blobs(n=150, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 3, n)
    angle = 2 * np.pi * k / 3
    pts = np.stack([3 * np.cos(angle), 3 * np.sin(angle)], 1) + rng.normal(0, 0.7, (n, 2))
    return from_points(np.clip(pts, -6, 6), k.tolist())


def make(kind: str) -> Playground:
    base = PlaygroundState()
    if kind == "binary":
        return Playground(base.replace(dataset="circle"))
    if kind == "regression":
        return Playground(base.replace(dataset="reg-gauss", activation="relu", network_shape=(6, 3),
                                       features=("x", "y", "xSquared", "ySquared", "xTimesY")))
    if kind == "3-class":
        data = three_blobs()
        return Playground(data.state(base).replace(network_shape=(5, 4), features=("x", "y", "sinY")),
                          data=data.data)
    if kind == "mixed+dropout":
        return Playground(base.replace(dataset="xor", network_shape=(8, 6, 4), dropout=0.3,
                                       layer_activations=("relu", "sigmoid", "linear")))
    raise KeyError(kind)


def grid(n=50):
    axis = np.linspace(-6, 6, n)
    x1, x2 = np.meshgrid(axis, axis)
    return np.stack([x1.ravel(), x2.ravel()], 1)


def load_module(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["binary", "regression", "3-class", "mixed+dropout"])
def test_exported_module_matches_the_numpy_network(kind, tmp_path):
    sim = make(kind)
    sim.step(8)  # trained weights (with dropout active while training), not the initial ones
    path = tmp_path / f"pg_{kind.replace('-', '_').replace('+', '_')}.py"
    path.write_text(export.torch_source(sim))
    module = load_module(path)
    model = module.PlaygroundNet().eval()
    pts = grid()
    with torch.no_grad():
        out = model(torch.from_numpy(pts)).numpy()
    want = export.numpy_outputs(sim, pts)
    assert out.dtype == np.float64 and out.shape == want.shape
    assert np.abs(out - want).max() < 1e-6, np.abs(out - want).max()
    n_out = {"binary": 1, "regression": 1, "3-class": 3, "mixed+dropout": 1}[kind]
    assert want.shape == (2500, n_out)
    if kind == "3-class":
        assert np.allclose(out.sum(1), 1) and module.ACTIVATIONS[-1] == "softmax"
    if kind == "mixed+dropout":
        assert module.ACTIVATIONS == ["relu", "sigmoid", "linear", "tanh"] and module.DROPOUT == 0.3
        with torch.no_grad():  # dropout is really there: active in train mode only
            assert not torch.equal(model.train()(torch.from_numpy(pts)), torch.from_numpy(out))


def test_export_describes_the_network():
    sim = make("binary")
    text = export.torch_source(sim)
    assert "X₁, X₂, sin(X₁), sin(X₂) → 8 tanh → 8 tanh → 5 tanh → tanh" in text
    compile(text, "exported.py", "exec")
