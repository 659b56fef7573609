"""A playground network as a PyTorch module file that needs nothing but torch.

`torch_source(sim)` writes one `nn.Module` with the same layers (`nn.Linear`), the same
activations per layer, dropout after each hidden layer (active only in `train()` mode,
as in the playground), the output (tanh for ±1 classes, linear for regression, softmax
for 3–5 classes) and the input features computed from (x1, x2) inside `forward` — so
`model(points)` takes raw points as the playground's map does. The weights are written
inline as Python floats (`repr` round-trips a float64 exactly), in float64, so the file
reproduces the NumPy network's outputs to rounding error.
"""
from __future__ import annotations

import numpy as np

from dlplay.playground import features

# feature key -> the same feature in torch, of the columns a = x1, b = x2
TORCH_FEATURES = {
    "x": "a",
    "y": "b",
    "xSquared": "a * a",
    "ySquared": "b * b",
    "xTimesY": "a * b",
    "sinX": "torch.sin(a)",
    "sinY": "torch.sin(b)",
    "cosX": "torch.cos(a)",
    "cosY": "torch.cos(b)",
}
TORCH_ACTIVATIONS = {
    "relu": "torch.relu(h)",
    "tanh": "torch.tanh(h)",
    "sigmoid": "torch.sigmoid(h)",
    "linear": "h",
    "softmax": "torch.softmax(h, dim=1)",
}
OUTPUT_NOTE = {
    "tanh": "one output in (-1, 1): > 0 is the blue class (+1), < 0 the orange one (-1)",
    "linear": "one output: the predicted value",
    "softmax": "one probability per class (columns in class order 0, 1, …)",
}


def _floats(a: np.ndarray, indent: str) -> str:
    """A nested list of exact float literals, one row per line."""
    a = np.asarray(a, float)
    if a.ndim == 1:
        return "[" + ", ".join(repr(float(v)) for v in a) + "]"
    rows = [_floats(r, indent + "    ") for r in a]
    return "[\n" + "".join(f"{indent}    {r},\n" for r in rows) + f"{indent}]"


def describe(sim) -> str:
    """"X₁, X₂, sin(X₁) → 8 tanh → 4 relu → tanh"."""
    net = sim.net
    feats = ", ".join(features.label(k) for k in features.ordered(sim.state.features)) or "no inputs"
    layers = [f"{w.shape[1]} {a}" for w, a in zip(net.weights[:-1], net.activations[:-1])]
    out = net.activations[-1] + (f" ({net.weights[-1].shape[1]} classes)" if net.activations[-1] == "softmax" else "")
    return " → ".join([feats, *layers, out])


def torch_source(sim, class_name: str = "PlaygroundNet") -> str:
    """The network of `sim` (a Playground) as the text of a self-contained .py file."""
    net = sim.net
    keys = features.ordered(sim.state.features)
    unknown = [k for k in keys if k not in TORCH_FEATURES]
    if unknown:
        raise ValueError(f"no torch form for the feature(s) {', '.join(unknown)}")
    output = net.activations[-1]
    dropout = float(getattr(net, "dropout", 0.0) or 0.0)
    cols = ", ".join(TORCH_FEATURES[k] for k in keys)
    body = (f"a, b = points[:, 0], points[:, 1]\n        return torch.stack([{cols}], 1)" if keys
            else "return points[:, :0]  # no inputs: the output is the biases' alone")
    columns = ", ".join(repr(k) for k in keys)
    weights = ",\n".join(f"    {_floats(w, '    ')}" for w in net.weights)
    biases = ",\n".join(f"    {_floats(b, '    ')}" for b in net.biases)
    acts = ", ".join(repr(a) for a in net.activations)
    act_lines = "\n".join(f'    "{k}": lambda h: {v},' for k, v in TORCH_ACTIVATIONS.items())
    epoch = getattr(sim, "epoch", 0)
    test_loss = getattr(sim, "test_loss", float("nan"))
    return f'''"""A 2-D playground network exported from dlplay after {epoch} epochs (test loss {test_loss:.4g}).

    {describe(sim)}

Input: points (n, 2) as (x1, x2) on the playground's map, [-6, 6]²; the features
({", ".join(features.label(k) for k in keys) or "none"}) are computed inside forward.
Output (n, {net.weights[-1].shape[1]}): {OUTPUT_NOTE.get(output, output)}.
Dropout {dropout:g} after each hidden layer acts only in train() mode; call eval() to predict.
Weights are float64, as the playground trained them.

    import torch
    from this_file import {class_name}
    model = {class_name}().eval()
    model(torch.tensor([[1.0, -2.0]], dtype=torch.float64))

Needs only torch.
"""
import torch
from torch import nn

FEATURES = [{columns}]
ACTIVATIONS = [{acts}]  # one per layer, the output's last
DROPOUT = {dropout!r}
# (in, out) per layer, as the playground stores them; nn.Linear keeps the transpose
WEIGHTS = [
{weights},
]
BIASES = [
{biases},
]
FUNCTIONS = {{
{act_lines}
}}


class {class_name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(len(w), len(w[0])) for w in WEIGHTS)
        self.dropout = nn.Dropout(DROPOUT)
        self.double()
        with torch.no_grad():
            for layer, w, b in zip(self.layers, WEIGHTS, BIASES):
                layer.weight.copy_(torch.tensor(w, dtype=torch.float64).T)
                layer.bias.copy_(torch.tensor(b, dtype=torch.float64))

    @staticmethod
    def features(points):
        """(n, 2) points -> (n, {len(keys)}) inputs: {", ".join(keys) or "none"}."""
        {body}

    def forward(self, points):
        h = self.features(points.to(torch.float64))
        last = len(self.layers) - 1
        for i, (layer, act) in enumerate(zip(self.layers, ACTIVATIONS)):
            h = FUNCTIONS[act](layer(h))
            if i < last:
                h = self.dropout(h)
        return h


if __name__ == "__main__":
    model = {class_name}().eval()
    corners = torch.tensor([[-6.0, -6.0], [-6.0, 6.0], [0.0, 0.0], [6.0, -6.0], [6.0, 6.0]], dtype=torch.float64)
    with torch.no_grad():
        for point, out in zip(corners.tolist(), model(corners).tolist()):
            print(point, "->", [round(v, 4) for v in out])
'''


def numpy_outputs(sim, points: np.ndarray) -> np.ndarray:
    """The NumPy network's outputs (n, outputs) at raw points, as the export computes them."""
    x = features.compute(np.asarray(points, float), sim.state.features)
    with np.errstate(all="ignore"):
        return sim.net.forward(x)[1][-1]
