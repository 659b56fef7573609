"""Denoising autoencoders: corrupt the input, ask for the clean image back.

A denoising AE is an ordinary autoencoder with a corruption layer in front that acts
only while training, like dropout: every batch gets a fresh draw of noise, and the
target stays the clean image. Here it is compared with the same architecture trained
on clean images (the "plain" AE), by PSNR on corrupted test images. Stop keeps the
plain AE once trained and the model interrupted as of its last step.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import data
from .autoencoders import (TITLES, DeepAE, model_part, fit_autoencoder, own_tensors, script_header,
                           stop_before, stop_within, training_split)
from ..jobs import Cancelled, Job
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson, Saved
from ..runs.lesson import Figure
from ..train import History, TrainConfig, seed_everything

NOISE_KINDS = {"gaussian": "Gaussian noise", "square": "Occluding square", "half": "Half blanked"}


@dataclass(frozen=True)
class Noise:
    """kind "gaussian": add N(0, level²) per pixel; "square": blank a square of side
    level × image width at a random place; "half": blank a random half (top, bottom,
    left or right; level unused). Pixels stay in [0, 1]."""

    kind: str = "gaussian"
    level: float = 0.5

    def __post_init__(self):
        if self.kind not in NOISE_KINDS:
            raise ValueError(f"unknown noise {self.kind!r}; choose from {', '.join(NOISE_KINDS)}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.kind == "gaussian":
            noise = torch.randn(x.shape, generator=generator, device=x.device)
            return (x + self.level * noise).clamp(0, 1)
        return x * ~self.mask(x, generator)

    def mask(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """True where pixels are blanked, shape (N, 1, H, W)."""
        n, _, h, w = x.shape
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        if self.kind == "square":
            side = max(1, min(h, round(self.level * w)))
            top = torch.randint(0, h - side + 1, (n, 1, 1), generator=generator).to(x.device)
            left = torch.randint(0, w - side + 1, (n, 1, 1), generator=generator).to(x.device)
            m = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        else:
            side = torch.randint(0, 4, (n, 1, 1), generator=generator).to(x.device)
            m = torch.where(side == 0, rows < h // 2, torch.where(side == 1, rows >= h // 2,
                            torch.where(side == 2, cols < w // 2, cols >= w // 2)))
        return m.unsqueeze(1)

    def describe(self) -> str:
        if self.kind == "gaussian":
            return f"Gaussian noise, σ = {self.level:g}"
        if self.kind == "square":
            return f"a blank square {self.level:.0%} of the image wide"
        return "half of the image blanked"


class DenoisingAE(nn.Module):
    """An autoencoder that sees corrupted inputs while training (fresh noise every batch)
    and clean ones otherwise; corrupt test inputs yourself to measure denoising."""

    def __init__(self, ae: DeepAE, noise: Noise):
        super().__init__()
        self.ae, self.noise = ae, noise

    def encode(self, x):
        return self.ae.encode(x)

    def decode(self, z):
        return self.ae.decode(z)

    def forward(self, x):
        return self.ae(self.noise(x) if self.training else x)


def psnr(clean: torch.Tensor, other: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB over a set of images (pixels in [0, 1]):
    10·log10(1 / MSE) with the MSE over all their pixels. Averaging per-image PSNRs
    instead breaks on occlusion: a square over empty background changes nothing, and
    that image's PSNR is infinite. (Plain torch: exported scripts embed this function.)"""
    return float(10 * torch.log10(1 / F.mse_loss(other.clamp(0, 1), clean)))


@dataclass
class DenoiseSpec:
    dataset: str = "mnist"
    k: int = 32
    noise: Noise = field(default_factory=Noise)
    n_train: int = 10_000  # 0 = the whole training set
    n_val: int = 2_000
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=3e-3, epochs=10, schedule="cosine"))


@dataclass
class DenoiseResult:
    models: dict[str, nn.Module]  # "plain" and "denoising"; a stopped run may lack the second
    histories: dict[str, History]
    seconds: dict[str, float]
    spec: DenoiseSpec
    scores: dict[str, float] = field(default_factory=dict)  # PSNR at the trained noise: "noisy" and each model
    n_eval: int = 0  # how many test images `scores` is measured on
    stopped: str = ""  # "stopped at epoch 3 of 10 (step 60) of the Denoising AE, model 2 of 2"
    mean_psnr: float | None = None  # PSNR of answering the average training image (None: not measured)

    def failed(self) -> list[str]:
        """Models further from the clean images than both trivial answers: the corrupted
        input itself and the average image. (Below the input alone is no failure: at faint
        noise a bottleneck can't copy every pixel, and the input is nearly clean.)"""
        floors = [self.scores["noisy"]] + ([self.mean_psnr] if self.mean_psnr is not None else [])
        return [m for m in self.models if m in self.scores and not any(self.scores[m] >= f for f in floors)]


EVAL_IMAGES = 2_000  # test images the PSNR is measured on (fewer when the test set is smaller)


def eval_images(x_test: torch.Tensor) -> torch.Tensor:
    return x_test[:EVAL_IMAGES]


def train_denoisers(spec: DenoiseSpec, job: Job | None = None) -> DenoiseResult:
    """The same deep AE twice: on clean inputs, and on inputs corrupted by `spec.noise`.
    Both are validated on the same corrupted validation images, so the curves compare
    the task itself."""
    ds = data.load(spec.dataset)
    x, x_val = training_split(ds, spec.n_train, spec.n_val, spec.train.seed)
    noisy_val = spec.noise(x_val, torch.Generator().manual_seed(spec.train.seed + 1))
    if job:
        job.log(f"{len(x):,} training images; the denoising AE sees them with {spec.noise.describe()}")
    models, histories, seconds, stopped = {}, {}, {}, ""
    for i, name in enumerate(("plain", "denoising")):
        seed_everything(spec.train.seed)
        ae = DeepAE(spec.k, x.mean(0))
        model = ae if name == "plain" else DenoisingAE(ae, spec.noise)
        t0 = time.perf_counter()
        part = model_part(job, name, i, 2) if job else None
        try:
            histories[name] = fit_autoencoder(model, x, (noisy_val, x_val), spec.train, part)
        except Cancelled:
            if not models:
                raise  # nothing learned yet: the run is cancelled, not stopped
            stopped = stop_before(job, name, i, 2)
            break
        models[name], seconds[name] = model, time.perf_counter() - t0
        if histories[name].stopped:
            stopped = stop_within(job, name, i, 2, histories[name].stopped)
            break
    clean = eval_images(ds.x_test)
    scores = psnr_scores(denoise(models, clean, spec.noise))
    mean_psnr = psnr(clean, x.mean(0).expand_as(clean))
    return DenoiseResult(models, histories, seconds, spec, scores, len(clean), stopped, mean_psnr)


def failure_note(result: DenoiseResult) -> str | None:
    """What the page says when a model ended worse than the trivial answers; None if none did."""
    if not (failed := result.failed()):
        return None
    mean = f" and the average image ({result.mean_psnr:.1f} dB)" if result.mean_psnr is not None else ""
    return (f"{', '.join(TITLES[m] for m in failed)}: further from the clean images than the corrupted input "
            f"itself ({result.scores['noisy']:.1f} dB){mean} — the training went wrong. Lower the learning rate "
            f"(now {result.spec.train.lr:g}) or train for more epochs, and train again.")


@torch.no_grad()
def denoise(models: dict[str, nn.Module], clean: torch.Tensor, noise: Noise, seed: int = 0) -> dict[str, torch.Tensor]:
    """{"clean", "noisy", and each model's output on the noisy images}."""
    noisy = noise(clean, torch.Generator().manual_seed(seed))
    out = {"clean": clean, "noisy": noisy}
    for name, model in models.items():
        model.eval()
        out[name] = model(noisy).clamp(0, 1)
    return out


def psnr_scores(images: dict[str, torch.Tensor]) -> dict[str, float]:
    """PSNR against the clean images, for the noisy input and every model."""
    clean = images["clean"]
    return {name: psnr(clean, x) for name, x in images.items() if name != "clean"}


def psnr_by_level(models: dict[str, nn.Module], clean: torch.Tensor, kind: str, levels) -> pd.DataFrame:
    """PSNR at several noise levels: how each model copes beyond the level it trained at."""
    rows = []
    for level in levels:
        scores = psnr_scores(denoise(models, clean, Noise(kind, float(level))))
        rows += [{"level": float(level), "input": name, "PSNR (dB)": v} for name, v in scores.items()]
    return pd.DataFrame(rows)


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

def _models_of(spec: DenoiseSpec, saved: Saved) -> dict[str, nn.Module]:
    s, models = saved.summary, {}
    for name in s["models"]:
        ae = DeepAE(spec.k, torch.zeros(tuple(s["image_shape"])))
        model = ae if name == "plain" else DenoisingAE(ae, spec.noise)
        model.load_state_dict(own_tensors(saved.tensors, name))
        models[name] = model.eval()
    return models


def _headline(r: DenoiseResult) -> str:
    s = r.scores
    best = "denoising" if "denoising" in s else "plain"
    return f"{s[best]:.1f} dB PSNR · {TITLES.get(best, best)} (input {s['noisy']:.1f} dB)"


CODEC = Codec(DenoiseResult, models={}, headline=_headline, renamed={"scores": "psnr"},
              extra=lambda r: {"image_shape": list(r.models["plain"].image_shape)},
              forms={"models": Form(lambda models: {"models": list(models), **models}, _models_of, whole=True)},
              derive={"histories": lambda v: {name: History() for name in v["models"]}})
save_result, load_result = CODEC.save, CODEC.load


def work(spec: DenoiseSpec):
    """Training examples seen: epochs × images × 2 models."""
    from ..limits import Work, training_images

    return Work(spec.train.epochs, "epoch", training_images(spec.dataset, spec.n_train, spec.n_val),
                "training images", 2)


def brief(spec: DenoiseSpec) -> str:
    from .autoencoders import images_phrase

    epochs = spec.train.epochs
    return (f"{spec.noise.describe()} · k = {spec.k} · {images_phrase(spec.n_train)} · "
            f"{epochs} epoch{'s' if epochs != 1 else ''}")


SCRIPT_MAIN = '''
def rebuild(name, weights):
    """The run's plain or denoising AE (its tensors are prefixed "plain." or "denoising.ae.")."""
    prefix = "plain." if name == "plain" else "denoising.ae."
    model = DeepAE(K, torch.zeros(IMAGE_SHAPE))
    model.load_state_dict({k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)})
    return model.eval()


def main():
    weights = load_file(sys.argv[1] if len(sys.argv) > 1 else WEIGHTS)
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    clean = load_test_set(DATASET, location)[0][:EVAL_IMAGES]
    noisy = NOISE(clean, torch.Generator().manual_seed(0))  # the page's draw of the trained noise
    print(f"corrupted input: PSNR {psnr(clean, noisy):.2f} dB")
    with torch.no_grad():
        for name in MODELS:
            print(f"{TITLES[name]}: PSNR {psnr(clean, rebuild(name, weights)(noisy).clamp(0, 1)):.2f} dB")
    print(f"on {len(clean):,} test images with {NOISE.describe()}")


if __name__ == "__main__":
    main()
'''


def dn_script(spec: DenoiseSpec, run) -> str:
    from .autoencoders import Autoencoder, hourglass, mlp, start_at_mean
    from ..runs.export import TEST_SET_LOADER, data_location, file_stem, sources

    names = list(run.summary["models"])
    what = ("Rebuilds the run's plain and denoising autoencoders without dlplay, corrupts the test images "
            "with the noise\nthey trained on and prints the PSNR of each model's output (and of the corrupted "
            "input), as the page shows it.")
    head = script_header(run, what, extra_imports="from dataclasses import dataclass\n")
    return head + f'''
K, IMAGE_SHAPE, MODELS = {spec.k!r}, {tuple(run.summary["image_shape"])!r}, {names!r}
TITLES = {({m: TITLES[m] for m in names})!r}
NOISE_KINDS = {NOISE_KINDS!r}
DATASET, DATA_LOCATION = {spec.dataset!r}, {data_location(run)!r}
WEIGHTS, EVAL_IMAGES = "{file_stem(run)}.safetensors", {EVAL_IMAGES}


{sources(Noise, Autoencoder, start_at_mean, hourglass, mlp, DeepAE, psnr)}

NOISE = Noise({spec.noise.kind!r}, {spec.noise.level!r})
{TEST_SET_LOADER}{SCRIPT_MAIN}'''


def cost(spec: DenoiseSpec):
    """Memory and step time of one batch (`dlplay.costs`) of the denoising AE — the plain one, the
    same network on clean images, trains before it and costs no more — and the images the run copies."""
    import math

    from ..costs import MB, torch_cost

    shape = data.load(spec.dataset).image_shape  # loaded by the page, and by `work`
    batch, w = spec.train.batch_size, work(spec)
    pixels = math.prod(shape) * 4 / MB
    held = (w.size if spec.n_train else 0) * pixels + spec.n_val * pixels  # its own images, the noisy validation ones
    return torch_cost(lambda n: DenoisingAE(DeepAE(spec.k, torch.zeros(shape)), spec.noise),
                      lambda b, n: (torch.zeros(b, *shape),), batch=batch, optimizer=spec.train.optimizer,
                      lower="the latent size k or the training images", data_mb=held).with_steps(-(-w.amount // batch))


LESSON = Lesson(page="dn", figure=Figure("mean_psnr", "PSNR of the denoised images (dB)"), spec_type=DenoiseSpec,
                train=lambda spec, job: train_denoisers(spec, job), save=save_result, load=load_result,
                brief=brief, script=dn_script, curves=("loss", "val_loss"), work=work, cost=cost)
