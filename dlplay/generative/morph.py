"""Walking through an autoencoder's latent space from one class to another.

Encode many training images, average the codes of each class (its centroid), then
decode evenly spaced points on the straight line between two centroids. If the
latent space is organised, the pictures change smoothly from one class into the
other; where it is not, they pass through blurry non-digits. The frames can be saved
as an animated GIF. Stop keeps the AE as of its last step.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from .. import data
from .autoencoders import AESpec, build, images_phrase, script_header, train_autoencoders
from ..jobs import Job
from ..runs.codec import Codec
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from ..train import TrainConfig
from ..viz import to_uint8

PRESETS = ((2, 0), (3, 9), (1, 4), (7, 1), (5, 6))


@dataclass
class MorphModel:
    """An autoencoder and the latent centroid of every class."""

    model: nn.Module
    centroids: torch.Tensor  # (n_classes, k)
    classes: list[str]
    dataset: str
    source: str  # where the model came from, for the page
    test_mse: float | None = None  # per pixel, on the dataset's test images (None: not measured)
    stopped: str = ""  # "stopped at epoch 3 of 8 (step 60) of the Deep hourglass AE"
    mean_image_mse: float | None = None  # test MSE of answering the average training image (None: not measured)

    def failed(self) -> bool:
        """Reconstructs worse than answering the average image every time: its training went wrong."""
        return self.test_mse is not None and self.mean_image_mse is not None and \
            not self.test_mse < self.mean_image_mse


def failure_note(mm: MorphModel, lr: float) -> str | None:
    """What the page says when the autoencoder is worse than the average image; None if it isn't."""
    if not mm.failed():
        return None
    return (f"The autoencoder reconstructs worse than answering the average image every time (test MSE "
            f"{mm.test_mse:.4f} against {mm.mean_image_mse:.4f}) — the training went wrong, so its centroids and "
            f"morphs mean little. Lower the learning rate (now {lr:g}) or train for more epochs, and train again.")


@torch.no_grad()
def class_centroids(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int,
                    batch_size: int = 2048) -> torch.Tensor:
    """Mean latent code of every class."""
    model.eval()
    z = torch.cat([model.encode(xb) for xb in x.split(batch_size)])
    return torch.stack([z[y == c].mean(0) for c in range(n_classes)])


def build_morph_model(model: nn.Module, ds: data.ImageData, source: str, n: int = 10_000) -> MorphModel:
    centroids = class_centroids(model, ds.x_train[:n], ds.y_train[:n], ds.n_classes)
    return MorphModel(model, centroids, ds.classes, ds.name, source)


@dataclass
class MorphSpec:
    dataset: str = "mnist"
    k: int = 8
    n_train: int = 10_000
    epochs: int = 8
    lr: float = 3e-3
    seed: int = 0


def train_morph_model(spec: MorphSpec, job: Job | None = None) -> MorphModel:
    """A deep hourglass AE trained for the morph (the Autoencoders page's one works too)."""
    ae = AESpec(dataset=spec.dataset, k=spec.k, n_train=spec.n_train, models=("deep",),
                train=TrainConfig(lr=spec.lr, epochs=spec.epochs, schedule="cosine", seed=spec.seed))
    result = train_autoencoders(ae, job)
    mm = build_morph_model(result.models["deep"], data.load(spec.dataset), f"deep AE (k = {spec.k})")
    mm.test_mse, mm.stopped, mm.mean_image_mse = result.test_mse["deep"], result.stopped, result.mean_image_mse
    return mm


def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, n_frames: int) -> torch.Tensor:
    """n_frames evenly spaced points from z_a to z_b, both ends included."""
    t = torch.linspace(0, 1, max(2, n_frames)).unsqueeze(1)
    return torch.lerp(z_a.unsqueeze(0), z_b.unsqueeze(0), t)


@torch.no_grad()
def morph(mm: MorphModel, a: int, b: int, n_frames: int) -> torch.Tensor:
    """Decoded images (n_frames, C, H, W) from class a's centroid to class b's."""
    mm.model.eval()
    return mm.model.decode(interpolate(mm.centroids[a], mm.centroids[b], n_frames)).clamp(0, 1)


@torch.no_grad()
def decoded_centroids(mm: MorphModel) -> torch.Tensor:
    mm.model.eval()
    return mm.model.decode(mm.centroids).clamp(0, 1)


def frame_pictures(frames: torch.Tensor, scale: int = 4, bar: int = 3) -> list[np.ndarray]:
    """Enlarged frames with a thin bar along the bottom showing how far the morph has
    gone (which also keeps any two frames distinct: GIF writers merge identical ones)."""
    pictures = []
    n = len(frames)
    for i, frame in enumerate(frames):
        img = Image.fromarray(to_uint8(frame))
        img = img.resize((img.width * scale, img.height * scale), Image.BICUBIC)
        pic = np.zeros((img.height + bar, img.width), np.uint8)
        pic[: img.height] = np.asarray(img)
        pic[img.height + 1:, : round(img.width * i / max(1, n - 1))] = 160
        pictures.append(pic)
    return pictures


def gif_bytes(frames: torch.Tensor, fps: float = 10, scale: int = 4, loop: bool = True) -> bytes:
    """An animated GIF of the frames, every frame kept (one per image)."""
    pictures = [Image.fromarray(p) for p in frame_pictures(frames, scale)]
    buf = io.BytesIO()
    repeat = {"loop": 0} if loop else {}  # loop=0 means forever; without it the GIF plays once
    pictures[0].save(buf, format="GIF", save_all=True, append_images=pictures[1:],
                     duration=round(1000 / fps), optimize=False, **repeat)
    return buf.getvalue()


# --- as a stored run (dlplay.runs) ----------------------------------------------------------------

CODEC = Codec(MorphModel, models={"model": lambda spec, s: build("deep", spec.k, torch.zeros(tuple(s["image_shape"])))},
              renamed={"model": "deep"}, headline=lambda r: f"{r.test_mse:.4f} test MSE",
              extra=lambda r: {"image_shape": list(r.model.image_shape)})
save_result, load_result = CODEC.save, CODEC.load


def work(spec: MorphSpec):
    """Training examples seen: epochs × images (one deep AE)."""
    from ..limits import Work, training_images

    return Work(spec.epochs, "epoch", training_images(spec.dataset, spec.n_train, AESpec.n_val), "training images")


def brief(spec: MorphSpec) -> str:
    epochs = f"{spec.epochs} epoch{'s' if spec.epochs != 1 else ''}"
    return f"deep AE · k = {spec.k} · {images_phrase(spec.n_train)} · {epochs}"


def morph_script(spec: MorphSpec, run) -> str:
    from .autoencoders import SCRIPT_REBUILD, script_models
    from ..runs.export import TEST_SET_LOADER, data_location, file_stem

    what = ("Rebuilds the run's deep autoencoder without dlplay and prints its test MSE per pixel; with an output "
            "name,\nalso writes the morph between two class centroids (stored with the weights) as a GIF.")
    return script_header(run, what, args=" [morph.gif FROM TO]") + f'''
K, IMAGE_SHAPE, MODELS = {spec.k!r}, {tuple(run.summary["image_shape"])!r}, ["deep"]
CLASSES = {list(run.summary["classes"])!r}
DATASET, DATA_LOCATION = {spec.dataset!r}, {data_location(run)!r}


{script_models()}
{SCRIPT_REBUILD}{TEST_SET_LOADER}

def write_gif(model, centroids, a, b, path, frames=16):
    from PIL import Image  # only needed for the GIF

    t = torch.linspace(0, 1, frames).unsqueeze(1)
    with torch.no_grad():
        images = model.decode(torch.lerp(centroids[a], centroids[b], t)).clamp(0, 1)
    pictures = [Image.fromarray((img[0].numpy() * 255).round().astype(np.uint8)).resize((112, 112))
                for img in images]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=100, loop=0)
    print(f"wrote {{path}}: {{CLASSES[a]}} → {{CLASSES[b]}} in {{frames}} frames")


def main():
    weights = load_file(sys.argv[1] if len(sys.argv) > 1 else "{file_stem(run)}.safetensors")
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    model = rebuild("deep", weights)
    x, _ = load_test_set(DATASET, location)
    print(f"Deep hourglass AE: test MSE {{mse(model, x):.5f}} on {{len(x):,}} test images, k = {{K}}")
    if len(sys.argv) > 3:
        a, b = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (2, 0)
        write_gif(model, weights["centroids"], a, b, sys.argv[3])


if __name__ == "__main__":
    main()
'''


def cost(spec: MorphSpec):
    """The deep AE's cost (`dlplay.costs`), as the Autoencoders page sizes it."""
    from .autoencoders import cost as ae_cost

    return ae_cost(AESpec(dataset=spec.dataset, k=spec.k, n_train=spec.n_train, models=("deep",),
                          train=TrainConfig(lr=spec.lr, epochs=spec.epochs, schedule="cosine", seed=spec.seed)))


LESSON = Lesson(page="morph", figure=Figure("test_mse", "test MSE", higher=False), spec_type=MorphSpec,
                train=lambda spec, job: train_morph_model(spec, job), save=save_result, load=load_result,
                brief=brief, script=morph_script, curves=("loss", "val_loss"), work=work, cost=cost)
