"""Inside a trained network: receptive fields, activation maximisation, saliency.

- MLP: the first layer's weights as images, and deeper units' *linear* receptive
  fields — the product of the weight matrices W_k·…·W_2·W_1 (row j is what unit j of
  layer k would respond to if every activation were the identity).
- CNN (any `nn.Sequential` of conv/pool/… layers): each layer's theoretical
  receptive field by the r/j recurrence, and its measured effective receptive field
  (the input gradient of a centre unit, averaged over images).
- Gradient ascent on a neuron, channel or class logit, with L2 decay, blur and jitter.
- Saliency maps (captum's Saliency and IntegratedGradients).

No Streamlit here; `pages/vision/inside.py` draws it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# --- the layers of a model ---------------------------------------------------------------------

def sequential_of(model: nn.Module) -> nn.Sequential:
    """The model's layers in order: the model itself when it is an `nn.Sequential`,
    else its `.net` (dlplay.models.MLP) or the `.model` it wraps."""
    if isinstance(model, nn.Sequential):
        return model
    for attr in ("net", "model"):  # dlplay.models.MLP; a test-time-flip wrapper (dlplay.vision.cnn)
        inner = getattr(model, attr, None)
        if isinstance(inner, nn.Module):
            return sequential_of(inner)
    raise TypeError(f"{type(model).__name__} is not a sequence of layers")


def layer_names(model: nn.Module) -> list[str]:
    return [name for name, _ in sequential_of(model).named_children()]


def up_to(model: nn.Module, layer: str | int) -> nn.Sequential:
    """The model cut after `layer` (a name or an index): its output is that layer's activation."""
    seq = sequential_of(model)
    names = layer_names(model)
    idx = names.index(layer) if isinstance(layer, str) else int(layer)
    if idx < 0:
        idx += len(names)
    return seq[: idx + 1]


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in sequential_of(model) if isinstance(m, nn.Linear)]


# --- MLP receptive fields ----------------------------------------------------------------------

def linear_fields(model: nn.Module, depth: int, image_shape: tuple[int, ...] = (1, 28, 28)) -> np.ndarray:
    """The linear receptive fields of the units of the `depth`-th Linear layer (1 = the
    first hidden layer, len(linears) = the output layer): rows of W_depth·…·W_1, i.e. the
    columns of W_1ᵀ·W_2ᵀ·…·W_depthᵀ. It ignores the activations (and biases): it is the
    field the net would have if every activation were the identity."""
    layers = linears(model)
    if not 1 <= depth <= len(layers):
        raise ValueError(f"depth must be 1 … {len(layers)}")
    with torch.no_grad():
        product = layers[0].weight
        for lin in layers[1:depth]:
            product = lin.weight @ product
    p = product.detach().cpu().numpy()
    return p.reshape(p.shape[0], *image_shape)


# --- CNN receptive fields ----------------------------------------------------------------------

def _pair(v) -> int:
    """One number per side (square kernels, strides and padding here)."""
    return int(v[0] if isinstance(v, (tuple, list)) else v)


@dataclass
class RF:
    """A layer's theoretical receptive field: size `r` (input pixels a unit sees along
    each side), jump `j` (input pixels between neighbouring units) and `start` (input
    coordinate of the centre of the first unit's field)."""
    index: int
    name: str
    kind: str
    kernel: int
    stride: int
    padding: int
    r: int
    j: int
    start: float

    def window(self, unit: int) -> tuple[float, float]:
        """Input coordinates (inclusive) that unit `unit` along one side can see."""
        centre = self.start + unit * self.j
        return centre - (self.r - 1) / 2, centre + (self.r - 1) / 2


def receptive_fields(model: nn.Module) -> list[RF]:
    """Every layer's theoretical receptive field, up to the first Flatten/Linear:
    r_out = r_in + (k − 1)·j_in,  j_out = j_in·s,  start_out = start_in + ((k − 1)/2 − p)·j_in
    (k the effective kernel, dilation included). Layers that don't move pixels
    (activations, batch norm, dropout) keep their input's field."""
    r, j, start = 1, 1, 0.0
    out = []
    for i, (name, m) in enumerate(sequential_of(model).named_children()):
        if isinstance(m, (nn.Flatten, nn.Linear)):
            break
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1))
            k_eff = d * (k - 1) + 1
            r, start, j = r + (k_eff - 1) * j, start + ((k_eff - 1) / 2 - p) * j, j * s
            kind = "conv" if isinstance(m, nn.Conv2d) else "pool"
            out.append(RF(i, name, kind, k_eff, s, p, r, j, start))
        else:
            kind = type(m).__name__
            out.append(RF(i, name, kind, 1, 1, 0, r, j, start))
    return out


def effective_receptive_field(model: nn.Module, layer: str | int, images: torch.Tensor,
                              channel: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The measured receptive field of the centre unit of `layer`: |∂ activation / ∂ input|,
    summed over channels (or one `channel`), averaged over `images` (N,C,H,W). Returns
    the (H,W) map, normalised to max 1, and the centre unit's (row, col)."""
    part = up_to(model, layer).eval()
    x = images.detach().clone().float().requires_grad_(True)
    out = part(x)
    if out.dim() != 4:
        raise ValueError("pick a convolution or pooling layer (its output must be a map)")
    cy, cx = out.shape[2] // 2, out.shape[3] // 2
    unit = out[:, :, cy, cx] if channel is None else out[:, channel:channel + 1, cy, cx]
    (grad,) = torch.autograd.grad(unit.sum(), x)
    m = grad.abs().sum(1).mean(0).cpu().numpy()
    return m / max(float(m.max()), 1e-12), (cy, cx)


def erf_extent(erf: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the pixels whose gradient exceeds `threshold`."""
    rows, cols = np.nonzero(erf > threshold)
    if not len(rows):
        return (0, -1, 0, -1)
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def erf_size(erf: np.ndarray, mass: float = 0.95) -> int:
    """Side of the smallest square, centred on the gradient's centre of mass, holding
    `mass` of it: the part of the theoretical field that really matters."""
    total = erf.sum()
    if total <= 0:
        return 0
    ys, xs = np.indices(erf.shape)
    cy, cx = (erf * ys).sum() / total, (erf * xs).sum() / total
    for half in np.arange(0, max(erf.shape), 0.5):
        inside = (np.abs(ys - cy) <= half + 0.5) & (np.abs(xs - cx) <= half + 0.5)
        if erf[inside].sum() >= mass * total:
            return int(2 * half + 1)
    return max(erf.shape)


# --- gradient ascent -------------------------------------------------------------------------

@dataclass
class Target:
    """What to maximise: a `layer` (name or index in the model's sequence; "out" or -1 =
    the class logits) and a `unit` there — a neuron (Linear), or a channel (conv/pool:
    its mean activation over the map)."""
    layer: str | int = -1
    unit: int = 0

    def value(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        out = up_to(model, self.layer)(x)
        a = out[:, self.unit]
        return a.flatten(1).mean(1) if a.dim() > 1 else a


@dataclass
class AscentConfig:
    steps: int = 200
    lr: float = 0.05
    l2: float = 1e-3  # weight of ‖x‖² in the objective: pulls pixels back to black
    blur_every: int = 4  # blur the image every k steps (0 = never)
    blur_sigma: float = 0.5
    jitter: int = 1  # shift the image by up to this many pixels at random each step
    start: str = "noise"  # "noise" or "blank"
    seed: int = 0


@dataclass
class AscentResult:
    image: np.ndarray  # (C,H,W) in [0,1]
    values: list[float] = field(default_factory=list)  # the target's value before each step, then at the end
    stopped: bool = False

    @property
    def start_value(self) -> float:
        return self.values[0]

    @property
    def final_value(self) -> float:
        return self.values[-1]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    radius = max(1, int(math.ceil(2 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                 groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                    groups=c)


def start_image(shape: tuple[int, ...], start: str = "noise", seed: int = 0) -> torch.Tensor:
    """(1, *shape): faint noise around dark grey, or a blank (black) image."""
    if start == "blank":
        return torch.zeros(1, *shape)
    g = torch.Generator().manual_seed(seed)
    return (0.1 + 0.05 * torch.randn(1, *shape, generator=g)).clamp(0, 1)


def ascend(model: nn.Module, target: Target, image_shape: tuple[int, ...] = (1, 28, 28),
           cfg: AscentConfig | None = None,
           callback: Callable[[int, np.ndarray, float], bool | None] | None = None) -> AscentResult:
    """Activation maximisation: change the input image (pixels kept in [0,1]) to raise the
    target's value, with L2 decay, a blur every `blur_every` steps and random jitter as
    regularisers. `callback(step, image, value)` after each step; it returns True to stop."""
    cfg = cfg or AscentConfig()
    model = model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        g = torch.Generator().manual_seed(cfg.seed)
        x = start_image(image_shape, cfg.start, cfg.seed).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=cfg.lr)
        values, stopped = [], False
        for step in range(cfg.steps):
            xin = x
            if cfg.jitter > 0:
                dy, dx = (torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=g)).tolist()
                xin = torch.roll(x, (dy, dx), (2, 3))
            value = target.value(model, xin)[0]
            with torch.no_grad():
                values.append(float(target.value(model, x)[0]) if cfg.jitter > 0 else float(value))
            loss = -value + cfg.l2 * x.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                if cfg.blur_every and (step + 1) % cfg.blur_every == 0:
                    x.copy_(gaussian_blur(x, cfg.blur_sigma))
                x.clamp_(0, 1)
            if callback is not None and callback(step, x.detach()[0].numpy().copy(), values[-1]):
                stopped = True
                break
        with torch.no_grad():
            values.append(float(target.value(model, x)[0]))
        return AscentResult(x.detach()[0].numpy(), values, stopped)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def ascent_job(model: nn.Module, target: Target, image_shape: tuple[int, ...], cfg: AscentConfig,
               every: int = 5):
    """A job function (`dlplay.jobs`): runs `ascend`, emitting the image as artifact "image"
    and the value as a metric row every `every` steps; Stop ends it with the image so far."""
    model = _copy(model)

    def fn(job):
        def report(step, image, value):
            job.set_progress((step + 1) / cfg.steps, f"step {step + 1} of {cfg.steps}")
            if step % every == 0 or step == cfg.steps - 1:
                job.metric(step=step, value=value, split="ascent")
                job.artifact("image", image)
            return job.stop_requested

        result = ascend(model, target, image_shape, cfg, callback=report)
        job.artifact("image", result.image)
        job.metric(step=len(result.values) - 1, value=result.final_value, split="ascent")
        return result

    return fn


def ascent_work(cfg: AscentConfig):
    """How much an ascent computes, for the shared server's work cap: one image per step."""
    from ..limits import Work

    return Work(cfg.steps, "step", 1, "image")


def _copy(model: nn.Module) -> nn.Module:
    """A private copy: the ascent switches gradients off and on, the page keeps using the run's model."""
    import copy

    return copy.deepcopy(model).cpu().eval()


# --- saliency -------------------------------------------------------------------------------

SALIENCY_METHODS = {"saliency": "Saliency (|input gradient|)",
                    "integrated_gradients": "Integrated gradients (from a black image)"}


def saliency(model: nn.Module, image, target: int | None = None, method: str = "saliency") -> tuple[np.ndarray, int]:
    """How much each pixel matters to the score of class `target` (default: the predicted
    class) for one image (C,H,W): captum's Saliency (|∂ score / ∂ pixel|) or
    IntegratedGradients (baseline: a black image). Returns the (H,W) map, summed over
    channels as absolute values, and the class explained."""
    from captum.attr import IntegratedGradients, Saliency

    model = _copy(model)
    x = torch.as_tensor(np.asarray(image, np.float32)).unsqueeze(0)
    with torch.no_grad():
        pred = int(model(x).argmax(1))
    target = pred if target is None else int(target)
    x.requires_grad_(True)
    if method == "integrated_gradients":
        attr = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=32)
    elif method == "saliency":
        attr = Saliency(model).attribute(x, target=target, abs=True)
    else:
        raise ValueError(f"unknown method {method!r}")
    return attr.detach().abs().sum(1)[0].numpy(), target


def stroke_share(sal: np.ndarray, image: np.ndarray, threshold: float = 0.2) -> tuple[float, float]:
    """(share of the saliency mass on the digit's pixels, share of the image those pixels are)."""
    ink = np.asarray(image).reshape(-1, *sal.shape).max(0) > threshold
    return float(sal[ink].sum() / max(sal.sum(), 1e-12)), float(ink.mean())
