"""The exercises: each a key piece of a lesson's model the learner writes — its statement, a starter, the
reference (shown only when asked), hidden cases (random inputs, edge cases; derivatives against finite
differences), hints that go further each time, and the typical mistakes recognised by the answer they give.
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer (`wrong` computes it) and what a learner whose answer matches it is told."""
    wrong: Callable
    says: str


@dataclass(frozen=True)
class Case:
    """One hidden check: its name, the arguments, and (`expect`) how its right answer is worked out
    when not by the reference (finite differences)."""
    name: str
    params: tuple[str, ...]
    args: tuple
    expect: Callable | None = None

    def expected(self, reference: Callable) -> Any:
        return self.expect(*self.args) if self.expect else reference(*self.args)

    def shown(self) -> str:
        return ", ".join(f"{p}={show(a)}" for p, a in zip(self.params, self.args))


@dataclass(frozen=True)
class Exercise:
    id: str
    page: str  # the course page it belongs to (dlplay.course)
    title: str
    statement: str
    function: str
    signature: str
    solution: str  # the reference's body
    cases: Callable[[np.random.Generator], list[Case]]
    mistakes: tuple[Mistake, ...]
    hints: tuple[str, ...]
    tol: float = 1e-6
    imports: str = "import numpy as np"

    @property
    def stub(self) -> str:
        return (f"{self.imports}\n\n\ndef {self.signature}:\n"
                f"    # your code here\n    raise NotImplementedError\n")

    @property
    def reference_source(self) -> str:
        return f"{self.imports}\n\n\ndef {self.signature}:\n{textwrap.indent(textwrap.dedent(self.solution), '    ')}\n"

    def reference(self) -> Callable:
        return _compiled(self.reference_source, self.function)


_cache: dict[str, Callable] = {}


def _compiled(source: str, name: str) -> Callable:
    """The reference, compiled once (our own code: it runs in the server, never the learner's)."""
    if source not in _cache:
        namespace: dict = {}
        exec(compile(source, f"<reference {name}>", "exec"), namespace)  # noqa: S102 - dlplay's own source
        _cache[source] = namespace[name]
    return _cache[source]


def show(v: Any) -> str:
    """A value as the learner reads it (short: arrays rounded, long ones cut)."""
    if isinstance(v, tuple | list):
        return "(" + ", ".join(show(x) for x in v) + ")"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, np.ndarray):
        text = np.array2string(v, separator=", ", threshold=12, edgeitems=3,
                               formatter={"float_kind": lambda x: f"{x:.4g}"})
        return " ".join(text.split())
    return repr(v)


def _fd(f: Callable, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The elementwise derivative of `f` at `z` by central differences."""
    return (f(z + h) - f(z - h)) / (2 * h)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softplus(x):
    return np.logaddexp(0, x)


# --- the cases of each exercise ----------------------------------------------------------------------

def _perceptron_cases(rng):
    p = ("w", "x", "y", "lr")
    w, x = rng.normal(size=3), rng.normal(size=3)
    y_wrong = -float(np.sign(w @ x))  # misclassified: an update
    return [Case("a misclassified point moves w", p, (np.array([0.5, -1.0, 0.2]), np.array([1.0, 2.0, 1.0]), 1.0, 0.5)),
            Case("a misclassified point, random values", p, (w, x, y_wrong, 0.1)),
            Case("a point classified right leaves w alone", p, (w, x, -y_wrong, 0.1)),
            Case("a point on the boundary (w·x = 0) counts as wrong", p, (np.zeros(3), x, -1.0, 1.0))]


def _act_cases(rng, f, at_zero: bool = True):
    """Values, and derivatives by finite differences (at 0 too where the function is smooth there)."""
    z = np.concatenate([rng.normal(scale=3, size=6), [1e-3, -1e-3]] + ([[0.0]] if at_zero else []))
    cases = [Case("values and derivatives at random points", ("z",), (z,), lambda z: (f(z), _fd(f, z))),
             Case("a matrix of inputs keeps its shape", ("z",), (rng.normal(size=(2, 3)),),
                  lambda z: (f(z), _fd(f, z)))]
    if not at_zero:  # a kink: the convention, from the reference
        cases.append(Case("at z = 0", ("z",), (np.array([0.0, 2.0, -2.0]),)))
    return cases


def _dense_cases(rng):
    p = ("x", "W", "b", "grad_out")
    x, W, b, g = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 2))

    def by_fd(x, W, b, g):  # dx, dW, db of L = sum(g * (x W + b)), by central differences
        def loss(x_, W_, b_):
            return float(np.sum(g * (x_ @ W_ + b_)))

        grads = []
        for arr, which in ((x, 0), (W, 1), (b, 2)):
            d = np.zeros_like(arr)
            for i in np.ndindex(arr.shape):
                up, down = [a.copy() for a in (x, W, b)], [a.copy() for a in (x, W, b)]
                up[which][i] += 1e-6
                down[which][i] -= 1e-6
                d[i] = (loss(*up) - loss(*down)) / 2e-6
            grads.append(d)
        return (x @ W + b, *grads)

    return [Case("forward and gradients of a 4×3 batch through 3→2", p, (x, W, b, g), by_fd),
            Case("one example", p, (x[:1], W, b, g[:1]), by_fd)]


def _softmax_ce_cases(rng):
    logits = rng.normal(size=(5, 4)) * 2
    return [Case("a batch of 5 over 4 classes", ("logits", "y"), (logits, rng.integers(0, 4, 5))),
            Case("large logits stay finite", ("logits", "y"), (logits * 200, np.array([0, 1, 2, 3, 0])))]


def _momentum_cases(rng):
    p = ("w", "v", "grad", "lr", "beta")
    return [Case("one step from rest", p, (rng.normal(size=3), np.zeros(3), rng.normal(size=3), 0.1, 0.9)),
            Case("a step with velocity", p, (rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), 0.05, 0.9))]


def _penalty_cases(rng):
    p = ("w", "l1", "l2")
    w = rng.normal(size=5)
    return [Case("both penalties", p, (w, 0.01, 0.1)), Case("L1 only", p, (w, 0.5, 0.0)),
            Case("L2 only", p, (w, 0.0, 0.3))]


def _early_cases(rng):
    p = ("val_losses", "patience")
    return [Case("stops after 2 epochs without a new best", p, ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.69], 2)),
            Case("a small improvement is still a new best", p, ([1.0, 0.9, 0.91, 0.89, 0.95, 0.96, 0.97], 3)),
            Case("never runs out of patience", p, ([3.0, 2.0, 1.0, 0.5], 2))]


def _conv_size_cases(rng):
    p = ("size", "kernel", "stride", "padding", "in_ch", "out_ch")
    return [Case("3×3, stride 1, padding 1 keeps the size", p, (28, 3, 1, 1, 1, 16)),
            Case("5×5, stride 2, no padding", p, (32, 5, 2, 0, 3, 8)),
            Case("a stride that doesn't divide evenly", p, (10, 3, 2, 0, 4, 6)),
            Case("padding 2 on each side grows the output", p, (10, 3, 1, 2, 2, 4))]


def _conv2d_expected(x, w, b):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        return F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(b))[0].numpy()


def _conv2d_cases(rng):
    p = ("x", "w", "b")
    return [Case("2 channels in, 3 out, 3×3 kernels (checked against torch.nn.functional.conv2d)", p,
                 (rng.normal(size=(2, 6, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)), _conv2d_expected),
            Case("a 1×1 kernel", p, (rng.normal(size=(1, 4, 4)), rng.normal(size=(2, 1, 1, 1)), rng.normal(size=2)),
                 _conv2d_expected)]


def _lstm_cases(rng):
    p = ("x", "h", "c", "W", "U", "b")
    d, n = 3, 2
    return [Case("one step, input 3, hidden 2", p, (rng.normal(size=d), rng.normal(size=n), rng.normal(size=n),
                                                      rng.normal(size=(4 * n, d)), rng.normal(size=(4 * n, n)),
                                                      rng.normal(size=4 * n)))]


def _attention_cases(rng):
    p = ("Q", "K", "V", "mask")
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    causal = np.tril(np.ones((3, 5), bool), k=2)
    return [Case("no position masked", p, (q, k, v, np.ones((3, 5), bool))),
            Case("a causal mask", p, (q, k, v, causal))]


def _vae_cases(rng):
    p = ("mu", "logvar", "eps")
    return [Case("a batch of 4 codes of 2 dimensions", p, (rng.normal(size=(4, 2)), rng.normal(size=(4, 2)),
                                                           rng.normal(size=(4, 2)))),
            Case("the prior itself costs nothing", p, (np.zeros((1, 3)), np.zeros((1, 3)), rng.normal(size=(1, 3))))]


def _gan_cases(rng):
    return [Case("the judge's logits for 6 real and 6 made images", ("d_real", "d_fake"),
                 (rng.normal(size=6) + 1, rng.normal(size=6) - 1)),
            Case("a judge that is sure", ("d_real", "d_fake"), (np.full(4, 8.0), np.full(4, -8.0)))]


def _td_cases(rng, sarsa: bool):
    q = rng.normal(size=(4, 3))
    p = ("Q", "s", "a", "r", "s2", "a2", "alpha", "gamma", "done") if sarsa else \
        ("Q", "s", "a", "r", "s2", "alpha", "gamma", "done")

    def args(a2, done):
        base = (q, 1, 2, -1.0, 3)
        return (*base, a2, 0.5, 0.9, done) if sarsa else (*base, 0.5, 0.9, done)

    worst = int(np.argmin(q[3]))  # SARSA's next action: not the greedy one, so the two rules differ
    return [Case("one step", p, args(worst, False)), Case("the last step of an episode", p, args(worst, True))]


# --- the catalog ----------------------------------------------------------------------------------------

_P = Exercise
EXERCISES: tuple[Exercise, ...] = (
    _P("perceptron", "pc", "The perceptron's update rule",
       "Write `update(w, x, y, lr)`: one step of the perceptron learning rule. `x` already ends with a 1 for the "
       "bias, `y` is +1 or −1. If the point is misclassified — `y · (w·x) ≤ 0` — move `w` by `lr · y · x`; "
       "otherwise return `w` unchanged. Return the new weights (a new array).",
       "update", "update(w, x, y, lr)",
       "return w + lr * y * x if y * (w @ x) <= 0 else w.copy()",
       _perceptron_cases,
       (Mistake(lambda w, x, y, lr: w - lr * y * x if y * (w @ x) <= 0 else w, "the update has the wrong sign: "
                "a misclassified point must pull w towards y·x"),
        Mistake(lambda w, x, y, lr: w + lr * y * x, "w moved although the point was already classified right: "
                "update only when y·(w·x) ≤ 0"),
        Mistake(lambda w, x, y, lr: w + y * x if y * (w @ x) <= 0 else w, "the step ignores the learning rate lr"),
        Mistake(lambda w, x, y, lr: w + lr * y * x if y * (w @ x) < 0 else w, "a point exactly on the boundary "
                "(w·x = 0) is not classified right yet: use ≤, not <")),
       ("A point is misclassified when the sign of w·x differs from y — or w·x is 0.",
        "The step moves w towards y·x, scaled by the learning rate.",
        "`w + lr * y * x` when `y * (w @ x) <= 0`, else `w`.")),
    _P("sigmoid", "gates", "Sigmoid and its derivative",
       "Write `sigmoid(z)` returning a pair: σ(z) = 1 / (1 + e^(−z)) elementwise, and its derivative dσ/dz. "
       "`z` may be a number or an array of any shape; keep the shape.",
       "sigmoid", "sigmoid(z)", "s = 1 / (1 + np.exp(-z))\nreturn s, s * (1 - s)", lambda r: _act_cases(r, _sig),
       (Mistake(lambda z: (_sig(z), _sig(z)), "the derivative is σ(z)·(1 − σ(z)), not σ(z) itself"),
        Mistake(lambda z: (1 / (1 + np.exp(z)), _sig(z) * (1 - _sig(z))), "σ(z) has e to the power −z: yours "
                "falls where it should rise"),
        Mistake(lambda z: (_sig(z), _sig(z) * (1 + _sig(z))), "the derivative's second factor is (1 − σ(z))")),
       ("Compute σ once and reuse it for the derivative.", "dσ/dz = σ(z)·(1 − σ(z)).",
        "`s = 1 / (1 + np.exp(-z))`, then return `s, s * (1 - s)`.")),
    _P("relu", "gates", "ReLU and its derivative",
       "Write `relu(z)` returning a pair: max(0, z) elementwise, and its derivative (1 where z > 0, 0 elsewhere — "
       "0 at z = 0, as PyTorch does). Keep the shape of `z`.",
       "relu", "relu(z)", "return np.maximum(0, z), (z > 0).astype(float)", lambda r: _act_cases(r, _relu_fd, at_zero=False),
       (Mistake(lambda z: (np.maximum(0, z), np.maximum(0, z)), "the derivative is 0 or 1, not the output again"),
        Mistake(lambda z: (np.maximum(0, z), (z >= 0).astype(float)), "at z = 0 the derivative is taken as 0"),
        Mistake(lambda z: (np.maximum(0.01 * z, z), (z > 0) + 0.01 * (z <= 0)), "that is a leaky ReLU: "
                "negative inputs give exactly 0")),
       ("The derivative is a step: where is the slope of max(0, z) 1, and where 0?",
        "np.maximum(0, z) keeps the shape; a comparison like `z > 0` gives the step as booleans.",
        "Return `np.maximum(0, z), (z > 0).astype(float)`.")),
    _P("dense", "npdigits", "A dense layer, forward and backward",
       "Write `dense(x, W, b, grad_out)` for a batch `x` of shape (N, in), weights `W` (in, out) and bias `b` "
       "(out,): return `(y, dx, dW, db)` where y = xW + b, and dx, dW, db are the gradients of a loss L given "
       "`grad_out` = ∂L/∂y (shape (N, out)).",
       "dense", "dense(x, W, b, grad_out)",
       "y = x @ W + b\nreturn y, grad_out @ W.T, x.T @ grad_out, grad_out.sum(axis=0)", _dense_cases,
       (Mistake(lambda x, W, b, g: (x @ W + b, g @ W.T, g.T @ x, g.sum(0)), "dW is transposed: it must have W's "
                "shape (in, out), which is xᵀ·grad_out"),
        Mistake(lambda x, W, b, g: (x @ W + b, g @ W.T, x.T @ g, g.mean(0)), "db sums grad_out over the batch "
                "(each example adds its own gradient), it doesn't average"),
        Mistake(lambda x, W, b, g: (x @ W + b, g @ W.T, x.T @ g, g), "db must have b's shape: sum grad_out over "
                "the batch axis")),
       ("Each gradient has the shape of what it is the gradient of.", "dx = grad_out·Wᵀ, dW = xᵀ·grad_out.",
        "db adds up every example's grad_out: `grad_out.sum(axis=0)`."),
       tol=1e-5),
    _P("softmax_ce", "mlp", "The softmax–cross-entropy gradient",
       "Write `softmax_ce_grad(logits, y)`: the gradient of the mean cross-entropy of softmax(logits) against the "
       "class indices `y`, with respect to the logits (shape (N, C)). Keep it finite for large logits.",
       "softmax_ce_grad", "softmax_ce_grad(logits, y)",
       "e = np.exp(logits - logits.max(axis=1, keepdims=True))\np = e / e.sum(axis=1, keepdims=True)\n"
       "p[np.arange(len(y)), y] -= 1\nreturn p / len(y)", _softmax_ce_cases,
       (Mistake(lambda a, y: (_softmax(a) - np.eye(a.shape[1])[y]), "the loss is the mean over the batch: divide "
                "the gradient by N"),
        Mistake(lambda a, y: (np.eye(a.shape[1])[y] - _softmax(a)) / len(y), "the sign is reversed: the gradient "
                "is softmax − one-hot"),
        Mistake(lambda a, y: _softmax(a) / len(y), "the right class's probability needs 1 subtracted (softmax − "
                "one-hot)")),
       ("The gradient of cross-entropy after softmax is remarkably simple.", "softmax(logits) − one_hot(y), "
        "divided by the batch size; subtract the row max before exp.",
        "`p = softmax(logits)`; `p[np.arange(len(y)), y] -= 1`; return `p / len(y)`.")),
    _P("momentum", "mlp", "An SGD-with-momentum step",
       "Write `momentum_step(w, v, grad, lr, beta)` as PyTorch's SGD does it: the velocity accumulates gradients, "
       "v′ = β·v + grad, and the weights move against it, w′ = w − lr·v′. Return `(w_new, v_new)`.",
       "momentum_step", "momentum_step(w, v, grad, lr, beta)",
       "v = beta * v + grad\nreturn w - lr * v, v", _momentum_cases,
       (Mistake(lambda w, v, g, lr, b: (w + lr * (b * v + g), b * v + g), "the weights move against the velocity: "
                "w − lr·v′"),
        Mistake(lambda w, v, g, lr, b: (w + b * v - lr * g, b * v - lr * g), "that is the other convention (v holds "
                "the step); here v accumulates gradients, as PyTorch's SGD does"),
        Mistake(lambda w, v, g, lr, b: (w - lr * (v + g), v + g), "the old velocity decays by β each step")),
       ("Update v first, then w with the new v.", "v′ = β·v + grad: the old velocity shrinks by β and the "
        "gradient adds on.", "`v = beta * v + grad`, then return `w - lr * v, v`.")),
    _P("penalties", "overfit", "L1 and L2 penalty gradients",
       "Write `penalty_grad(w, l1, l2)`: the gradient of l1·Σ|w| + l2·Σw² with respect to `w` (take sign(0) = 0).",
       "penalty_grad", "penalty_grad(w, l1, l2)", "return l1 * np.sign(w) + 2 * l2 * w", _penalty_cases,
       (Mistake(lambda w, l1, l2: l1 * np.sign(w) + l2 * w, "the derivative of w² is 2w: the L2 term misses its 2"),
        Mistake(lambda w, l1, l2: l1 * w + 2 * l2 * w, "the derivative of |w| is sign(w), not w"),
        Mistake(lambda w, l1, l2: l1 + 2 * l2 * w, "L1's gradient has the sign of each weight")),
       ("Differentiate each term on its own, weight by weight.", "d|w|/dw is the sign of w; d(w²)/dw is 2w.",
        "`l1 * np.sign(w) + 2 * l2 * w`.")),
    _P("early_stopping", "overfit", "The early-stopping rule",
       "Write `early_stop(val_losses, patience)`: walking through the validation losses epoch by epoch (epoch 1 "
       "first), training stops at the first epoch that makes `patience` epochs in a row without a new best "
       "(lowest) loss. Return `(stop_epoch, best_epoch)`, both counted from 1; if patience never runs out, "
       "stop_epoch is the last epoch.",
       "early_stop", "early_stop(val_losses, patience)",
       "best, best_epoch, waited = float('inf'), 0, 0\nfor epoch, loss in enumerate(val_losses, 1):\n"
       "    if loss < best:\n        best, best_epoch, waited = loss, epoch, 0\n    else:\n        waited += 1\n"
       "        if waited >= patience:\n            return epoch, best_epoch\nreturn len(val_losses), best_epoch",
       _early_cases,
       (Mistake(lambda v, p: _early_wrong(v, p, by_previous=True), "patience counts epochs without a new *best*, "
                "not epochs worse than the one before"),
        Mistake(lambda v, p: _early_wrong(v, max(1, p - 1)), "it stopped one epoch early: `patience` epochs "
                "without improvement are allowed to pass before stopping"),
        Mistake(lambda v, p: tuple(e - 1 for e in _early_wrong(v, p)), "epochs are counted from 1 here")),
       ("Keep the best loss so far and how many epochs have passed since it.",
        "A loss lower than the best resets the count to 0 and becomes the best; any other adds 1 to it.",
        "Return as soon as the count reaches `patience`: (this epoch, the best's epoch); after the loop, "
        "(the number of epochs, the best's epoch).")),
    _P("conv_size", "cnn", "A convolution layer's output size and parameters",
       "Write `conv_out(size, kernel, stride, padding, in_ch, out_ch)` for a square input: return `(out_size, "
       "n_params)` — the output's side length and the layer's number of parameters (weights and biases).",
       "conv_out", "conv_out(size, kernel, stride, padding, in_ch, out_ch)",
       "return (size + 2 * padding - kernel) // stride + 1, (kernel * kernel * in_ch + 1) * out_ch",
       _conv_size_cases,
       (Mistake(lambda n, k, s, p, i, o: ((n + 2 * p - k) // s, (k * k * i + 1) * o), "off by one: a kernel that "
                "fits once gives an output of size 1, so add 1"),
        Mistake(lambda n, k, s, p, i, o: ((n + 2 * p - k) // s + 1, k * k * i * o), "each output channel has a "
                "bias too"),
        Mistake(lambda n, k, s, p, i, o: ((n + p - k) // s + 1, (k * k * i + 1) * o), "padding is added on both "
                "sides: 2·padding")),
       ("Count where the kernel can start along one side.", "Each of the out_ch filters has k·k·in_ch weights.",
        "Side: (size + 2·padding − kernel) // stride + 1; parameters: (kernel·kernel·in_ch + 1)·out_ch.")),
    _P("conv2d", "cnn", "A 2-D convolution forward pass, with loops",
       "Write `conv2d(x, w, b)` with plain loops: `x` is (C, H, W), `w` is (O, C, k, k), `b` is (O,); stride 1, "
       "no padding. Return the (O, H−k+1, W−k+1) output as deep-learning libraries compute it "
       "(cross-correlation: the kernel is not flipped).",
       "conv2d", "conv2d(x, w, b)",
       "O, C, k, _ = w.shape\nH, W = x.shape[1] - k + 1, x.shape[2] - k + 1\nout = np.zeros((O, H, W))\n"
       "for o in range(O):\n    for i in range(H):\n        for j in range(W):\n"
       "            out[o, i, j] = np.sum(x[:, i:i + k, j:j + k] * w[o]) + b[o]\nreturn out",
       _conv2d_cases,
       (Mistake(lambda x, w, b: _conv2d_expected(x, w[:, :, ::-1, ::-1].copy(), b), "the kernel is flipped: "
                "libraries compute cross-correlation, with the kernel as it is"),
        Mistake(lambda x, w, b: _conv2d_expected(x, w, np.zeros_like(b)), "each output channel adds its bias"),
        Mistake(lambda x, w, b: _conv2d_expected(x, w, b)[:, :-1, :-1], "the output is H−k+1 by W−k+1: the "
                "loops stop one position early")),
       ("Each output value is the sum of a k×k window of every input channel times the filter.",
        "Three loops: output channel o, row i, column j; the window is `x[:, i:i + k, j:j + k]`.",
        "`out[o, i, j] = np.sum(x[:, i:i + k, j:j + k] * w[o]) + b[o]`."), tol=1e-5,
       imports="import numpy as np"),
    _P("lstm_cell", "sent", "One LSTM cell step",
       "Write `lstm_step(x, h, c, W, U, b)`: one step of an LSTM with hidden size n. The pre-activations are "
       "z = W·x + U·h + b (length 4n), split into the input, forget, cell and output gates in that order "
       "(i, f, g, o, as PyTorch does); i, f, o go through a sigmoid, g through tanh. Return `(h_new, c_new)` with "
       "c′ = f·c + i·g and h′ = o·tanh(c′).",
       "lstm_step", "lstm_step(x, h, c, W, U, b)",
       "z = W @ x + U @ h + b\ni, f, g, o = np.split(z, 4)\ni, f, o = (1 / (1 + np.exp(-v)) for v in (i, f, o))\n"
       "c = f * c + i * np.tanh(g)\nreturn o * np.tanh(c), c", _lstm_cases,
       (Mistake(lambda x, h, c, W, U, b: _lstm(x, h, c, W, U, b, order="ifog"), "the gates come in the order i, f, "
                "g, o: the third quarter is the cell candidate"),
        Mistake(lambda x, h, c, W, U, b: _lstm(x, h, c, W, U, b, tanh_out=False), "h′ = o·tanh(c′): the cell state "
                "goes through tanh first"),
        Mistake(lambda x, h, c, W, U, b: _lstm(x, h, c, W, U, b, input_gate=False), "the candidate g is scaled by "
                "the input gate: c′ = f·c + i·g")),
       ("np.split(z, 4) gives the four gates.", "Squash i, f and o with a sigmoid and g with tanh before using "
        "them.", "`c = f * c + i * np.tanh(g)`, then `h = o * np.tanh(c)`.")),
    _P("attention", "sent", "Scaled dot-product attention with a mask",
       "Write `attention(Q, K, V, mask)`: Q is (Tq, d), K is (Tk, d), V is (Tk, dv), `mask` is a boolean (Tq, Tk) "
       "array, True where a query may look. Return softmax(QKᵀ/√d) V, the masked positions given no weight.",
       "attention", "attention(Q, K, V, mask)",
       "s = Q @ K.T / np.sqrt(Q.shape[1])\ns = np.where(mask, s, -np.inf)\ne = np.exp(s - s.max(axis=1, keepdims=True))\n"
       "return (e / e.sum(axis=1, keepdims=True)) @ V", _attention_cases,
       (Mistake(lambda q, k, v, m: _attn(q, k, v, m, scale=False), "the scores are divided by √d before the softmax"),
        Mistake(lambda q, k, v, m: _attn(q, k, v, ~m), "the mask is inverted: True marks the positions to keep"),
        Mistake(lambda q, k, v, m: _attn(q, k, v, m, axis=0), "the softmax runs over the keys (each query's row), "
                "not over the queries")),
       ("Set masked scores to −∞ before the softmax.", "The scores are Q·Kᵀ/√d, one row per query; the "
        "softmax runs along each row.", "`s = np.where(mask, Q @ K.T / np.sqrt(d), -np.inf)`; subtract each row's "
        "max before exp, normalise the rows, multiply by V.")),
    _P("vae", "vae", "The VAE's reparameterisation and KL term",
       "Write `reparam_kl(mu, logvar, eps)` for a batch of codes (N, d): return `(z, kl)` where z = μ + σ·ε with "
       "σ = exp(½·logvar), and kl (shape (N,)) is each example's KL divergence from N(0, I): "
       "−½ Σ (1 + logvar − μ² − exp(logvar)).",
       "reparam_kl", "reparam_kl(mu, logvar, eps)",
       "z = mu + np.exp(0.5 * logvar) * eps\nreturn z, -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)",
       _vae_cases,
       (Mistake(lambda m, lv, e: (m + np.exp(lv) * e, _kl(m, lv)), "ε is scaled by the standard deviation "
                "exp(½·logvar), not the variance"),
        Mistake(lambda m, lv, e: (m + lv * e, _kl(m, lv)), "logvar is a log: σ = exp(½·logvar)"),
        Mistake(lambda m, lv, e: (m + np.exp(0.5 * lv) * e, -_kl(m, lv)), "the KL divergence is never negative: "
                "its sign is flipped")),
       ("The randomness comes from ε only, so gradients can flow through μ and σ.",
        "σ = exp(½·logvar); the KL sums over the code's d dimensions, one value per example.",
        "`z = mu + np.exp(0.5 * logvar) * eps`; `kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)`.")),
    _P("gan_losses", "gan", "The DCGAN's two losses",
       "Write `gan_losses(d_real, d_fake)` from the discriminator's logits for real and generated images: "
       "return `(d_loss, g_loss)` — binary cross-entropy, mean over each batch: the discriminator wants real → 1 "
       "and fake → 0 (d_loss is the sum of its two means); the generator wants its fakes called real "
       "(the non-saturating loss).",
       "gan_losses", "gan_losses(d_real, d_fake)",
       "softplus = lambda t: np.logaddexp(0, t)\nd_loss = softplus(-d_real).mean() + softplus(d_fake).mean()\n"
       "return d_loss, softplus(-d_fake).mean()", _gan_cases,
       (Mistake(lambda r, f: (_softplus(-r).mean() + _softplus(f).mean(), -_softplus(f).mean()), "that is the "
                "saturating generator loss: minimise −log D(G(z)) instead, the fakes labelled real"),
        Mistake(lambda r, f: (_softplus(r).mean() + _softplus(-f).mean(), _softplus(-f).mean()), "the "
                "discriminator's labels are swapped: real images are 1"),
        Mistake(lambda r, f: ((_softplus(-r).mean() + _softplus(f).mean()) / 2, _softplus(-f).mean()), "d_loss is "
                "the sum of the two batch means, as the page's DCGAN computes it")),
       ("BCE with logits: −log σ(t) = softplus(−t); −log(1 − σ(t)) = softplus(t).",
        "The discriminator: real labelled 1, fake 0. The generator: its fakes labelled 1.",
        "softplus(t) = np.logaddexp(0, t) stays finite for large logits; d_loss = mean(softplus(−d_real)) + "
        "mean(softplus(d_fake)), g_loss = mean(softplus(−d_fake))."), tol=1e-6),
    _P("q_learning", "rl", "The Q-learning update",
       "Write `q_update(Q, s, a, r, s2, alpha, gamma, done)`: return a new table after one Q-learning step from "
       "state s, action a, reward r, next state s2: move Q[s, a] by α towards r + γ·maxₐ′ Q[s2, a′] (just r when "
       "`done`).",
       "q_update", "q_update(Q, s, a, r, s2, alpha, gamma, done)",
       "Q = Q.copy()\ntarget = r if done else r + gamma * Q[s2].max()\nQ[s, a] += alpha * (target - Q[s, a])\nreturn Q",
       lambda r: _td_cases(r, sarsa=False),
       (Mistake(lambda Q, s, a, r, s2, al, g, d: _td(Q, s, a, r + g * Q[s2].max(), al), "at the end of an episode "
                "there is no next state: the target is just r"),
        Mistake(lambda Q, s, a, r, s2, al, g, d: _td(Q, s, a, r if d else r + g * Q[s2].mean(), al), "Q-learning "
                "bootstraps from the best next action (max), not an average"),
        Mistake(lambda Q, s, a, r, s2, al, g, d: _td(Q, s, a, r if d else r + Q[s2].max(), al), "the next state's "
                "value is discounted by γ")),
       ("Off-policy: the target uses the greedy action in s2, whatever the agent does next.",
        "The target is r + γ·max Q[s2] — or just r when `done`. Copy Q before changing it.",
        "`Q[s, a] += alpha * (target - Q[s, a])` on a copy.")),
    _P("sarsa", "rl", "The SARSA update",
       "Write `sarsa_update(Q, s, a, r, s2, a2, alpha, gamma, done)`: return a new table after one SARSA step: "
       "move Q[s, a] by α towards r + γ·Q[s2, a2] — the action the agent actually takes next (just r when "
       "`done`).",
       "sarsa_update", "sarsa_update(Q, s, a, r, s2, a2, alpha, gamma, done)",
       "Q = Q.copy()\ntarget = r if done else r + gamma * Q[s2, a2]\nQ[s, a] += alpha * (target - Q[s, a])\nreturn Q",
       lambda r: _td_cases(r, sarsa=True),
       (Mistake(lambda Q, s, a, r, s2, a2, al, g, d: _td(Q, s, a, r if d else r + g * Q[s2].max(), al), "that is "
                "Q-learning's target: SARSA is on-policy and uses the next action taken, Q[s2, a2]"),
        Mistake(lambda Q, s, a, r, s2, a2, al, g, d: _td(Q, s, a, r + g * Q[s2, a2], al), "at the end of an "
                "episode the target is just r"),
        Mistake(lambda Q, s, a, r, s2, a2, al, g, d: _td(Q, s, a, r if d else r + g * Q[s2, a2], 1.0), "the step "
                "is scaled by α")),
       ("On-policy: the target uses a2.", "The target is r + γ·Q[s2, a2] — or just r when `done`. Copy Q "
        "before changing it.", "`Q[s, a] += alpha * (target - Q[s, a])` on a copy.")),
)
BY_ID = {e.id: e for e in EXERCISES}


def _relu_fd(z):
    return np.maximum(0, z)


def _early_wrong(v, p, by_previous=False):
    best, best_epoch, waited, prev = float("inf"), 0, 0, float("inf")
    for epoch, loss in enumerate(v, 1):
        better = loss < (prev if by_previous else best)
        if loss < best:
            best, best_epoch = loss, epoch
        prev = loss
        waited = 0 if better else waited + 1
        if waited >= p:
            return epoch, best_epoch
    return len(v), best_epoch


def _lstm(x, h, c, W, U, b, order="ifgo", tanh_out=True, input_gate=True):
    z = dict(zip(order, np.split(W @ x + U @ h + b, 4)))
    i, f, o, g = _sig(z["i"]), _sig(z["f"]), _sig(z["o"]), np.tanh(z["g"])
    c2 = f * c + (i * g if input_gate else g)
    return (o * np.tanh(c2) if tanh_out else o * c2), c2


def _attn(q, k, v, m, scale=True, axis=1):
    s = q @ k.T / (np.sqrt(q.shape[1]) if scale else 1.0)
    s = np.where(m, s, -np.inf)
    return _softmax(s, axis=axis) @ v


def _kl(m, lv):
    return -0.5 * np.sum(1 + lv - m**2 - np.exp(lv), axis=1)


def _td(Q, s, a, target, alpha):
    Q = Q.copy()
    Q[s, a] += alpha * (target - Q[s, a])
    return Q


__all__ = ["BY_ID", "Case", "EXERCISES", "Exercise", "Mistake", "show"]
