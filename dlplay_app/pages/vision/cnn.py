"""CNN builder: stack convolutions, pooling, batch norm and dropout, train live, then look inside."""
import numpy as np
import pandas as pd
import streamlit as st

from dlplay import course, data, runs
from dlplay.runs import specs
from dlplay.train import OPTIMIZERS, SCHEDULES, TrainConfig
from dlplay.viz import curves_figure, probability_figure, to_uint8
from dlplay.vision.cnn import (DATASETS, KINDS, LESSON, PRESETS, Block, CNNSpec, check, classify, feature_maps,
                               from_preset, layer_table, preset_differences, smoothing_note)
from dlplay.vision.images import ImageRejected, filter_grid, is_blank, load_upload, maps_grid
from dlplay.models.mlp import ACTIVATIONS
from dlplay_app.ui.live import finished_result, live, load_dataset, train_size_slider
from dlplay_app.ui.reports import test_set_report
from dlplay_app.ui.runs import cost_refusal, open_page, run_controls
from dlplay_app.ui.query import drop
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
COLUMNS = ["kind", "filters", "kernel", "stride", "padding", "activation", "size", "p"]
USED = {"conv": ("filters", "kernel", "stride", "padding", "activation"), "pool": ("size",), "bn": (),
        "dropout": ("p",), "act": ("activation",)}
LRS = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
L2S = [0.0, 1e-4, 5e-4, 1e-3, 5e-3]


# --- the stack as table rows (kept in session state: a data editor can't live in the URL) -------------

def rows_of(blocks) -> list[dict]:
    """One row per block; cells a kind doesn't use stay empty."""
    return [{c: (getattr(b, c) if c == "kind" or c in USED[b.kind] else None) for c in COLUMNS} for b in blocks]


def blocks_of(rows) -> tuple[Block, ...]:
    """The editor's rows back to blocks; empty cells take Block's defaults, a row with no
    kind (one just added) is skipped."""
    out, default = [], Block("conv")
    for r in rows:
        kind = r.get("kind")
        if not isinstance(kind, str) or not kind:
            continue
        values = {}
        for c in COLUMNS[1:]:
            v = r.get(c)
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            values[c] = float(v) if c == "p" else (str(v) if c == "activation" else int(v))
        out.append(Block(kind, **{**{c: getattr(default, c) for c in COLUMNS[1:]}, **values}))
    return tuple(out)


def set_stack(blocks) -> None:
    ss = st.session_state
    ss[f"{KEY}-stack"] = rows_of(blocks)
    ss[f"{KEY}-stack-v"] = ss.get(f"{KEY}-stack-v", 0) + 1  # a fresh editor drawn from the new rows


def setup_widgets(spec: CNNSpec) -> None:
    """Every setting from `spec` into the widgets (a preset chosen, or a run reopened). On a
    first visit a value the address bar gives still wins if the widget can use it (a shared
    link); one it can't (`?cnn-opt=abc`) leaves the preset's value, not the widget's first option."""
    t = spec.train
    set_stack(spec.blocks)
    values = {
        "dense": ", ".join(map(str, spec.dense)), "hdrop": float(spec.dropout),
        "smooth": float(spec.label_smoothing), "augment": bool(spec.augment), "opt": t.optimizer,
        "sched": t.schedule, "lr": min(LRS, key=lambda v: abs(np.log(v / t.lr))),
        "l2": min(L2S, key=lambda v: abs(v - t.l2)),
        "batch": t.batch_size if t.batch_size in (32, 64, 128, 256, 512) else 128, "epochs": int(t.epochs),
        "bf16": bool(t.bf16)}
    for name, value in values.items():
        st.session_state[f"{KEY}-{name}"] = value
    if dense_of(st.query_params.get(f"{KEY}-dense", "")) is None:
        drop([f"{KEY}-dense"])  # a text setting Streamlit takes as it is: a link's unusable head is ignored


def dense_of(text: str) -> tuple[int, ...] | None:
    """"128, 64" → (128, 64); None for text that is not a list of positive whole numbers."""
    try:
        units = tuple(int(u) for u in text.replace(";", ",").split(",") if u.strip())
    except ValueError:
        return None
    return units if all(0 < u <= 100_000 for u in units) else None


def apply_preset() -> None:
    ss = st.session_state
    setup_widgets(from_preset(ss[f"{KEY}-preset"], ss.get(f"{KEY}-dataset", "mnist")))


# --- page ---------------------------------------------------------------------------------------------

before = st.session_state.get(f"run:{KEY}")
open_page(KEY)  # a run reopened from the Runs page brings its settings back first
if (now := st.session_state.get(f"run:{KEY}")) is not None and now != before:
    stored = runs.get_store().get(now)
    if stored is not None:  # reopened or adopted: the stack comes from the run's spec
        reopened = LESSON.spec_from(stored.spec)
        setup_widgets(reopened)
        st.session_state[f"{KEY}-dataset"] = reopened.dataset  # runs started on Compare CNNs carry no widgets
        if (base := reopened.preset.removesuffix(" (edited)")) in PRESETS:
            st.session_state[f"{KEY}-preset"] = base
if f"{KEY}-stack" not in st.session_state:
    setup_widgets(from_preset(st.query_params.get(f"{KEY}-preset", "fast") if st.query_params.get(
        f"{KEY}-preset") in PRESETS else "fast", st.session_state.get(f"{KEY}-dataset", "mnist")))

st.title(course.page(KEY).heading)
st.markdown(
    "A **convolutional network** slides small filters over the image: each filter looks for one local "
    "pattern everywhere, so a 3×3 filter costs 10 parameters however big the image is. Stack convolutions, "
    "pooling (which halves the image), batch norm and dropout below, check every layer's shape and "
    "parameter count, press **Train** — then watch the first layer's filters take shape and look at what "
    "each layer sees in an image of your own.")

with st.sidebar:
    st.header("Data")
    dataset = st.selectbox("Dataset", list(DATASETS), format_func=lambda n: data.TITLES.get(n, n),
                           key=f"{KEY}-dataset", **KEEP)  # keeps the training settings: see preset_box
    st.session_state.setdefault(f"{KEY}-preset", "fast")
    preset = st.selectbox("Preset", list(PRESETS), key=f"{KEY}-preset", on_change=apply_preset, **KEEP,
                          help="Loads the preset's stack, dense head and training settings. “fast” is tuned "
                               "for a 2-core CPU; “simple” is the assignment's conv → pool → dense.")
    preset_box = st.empty()  # what choosing the preset again would change (e.g. after a dataset change)
    n_train = train_size_slider("Training images", [2000, 5000, 10000, 20000, 0], 0, f"{KEY}-ntrain", dataset,
                                help="Fewer images train faster; the validation images come out of these.")
    st.header("Training")
    optimizer = st.selectbox("Optimizer", OPTIMIZERS, key=f"{KEY}-opt", **KEEP)
    lr = st.select_slider("Learning rate", LRS, key=f"{KEY}-lr", format_func=lambda v: f"{v:g}", **KEEP)
    schedule = st.selectbox("Learning-rate schedule", SCHEDULES, key=f"{KEY}-sched", **KEEP,
                            help="onecycle warms up, then anneals: usually the fastest way to a good model.")
    l2 = st.select_slider("Weight decay", L2S, key=f"{KEY}-l2", format_func=lambda v: f"{v:g}", **KEEP)
    batch = st.select_slider("Batch size", [32, 64, 128, 256, 512], key=f"{KEY}-batch", **KEEP)
    epochs = st.number_input("Epochs", 1, 30, key=f"{KEY}-epochs", **KEEP)
    smoothing = st.slider("Label smoothing", 0.0, 0.3, step=0.05, key=f"{KEY}-smooth", **KEEP,
                          help="Train towards 90 % on the right class instead of 100 %: less over-confidence.")
    augment = st.toggle("Augmentation", key=f"{KEY}-augment", **KEEP,
                        help="Shift every training image by up to 2 pixels, and mirror half of them for "
                             "CIFAR-10 and Fashion-MNIST (a mirrored digit is another symbol); with it, the "
                             "test images are scored with their mirror too.")

    bf16 = st.toggle("bfloat16 mixed precision", key=f"{KEY}-bf16", **KEEP,
                     help="The forward pass in 16-bit brain floats, the weights in 32-bit: about 1.5× faster on "
                          "a CPU with AMX or AVX-512 BF16 (the fast preset switches it on where it pays), "
                          "slower elsewhere. Accuracy stays the same.")

ds = load_dataset(dataset)
if dataset == "cifar10" and ds.source.note:
    st.caption(f"CIFAR-10 here: {ds.source.note} — {len(ds.x_train):,} training images of the full 50,000 "
               "(add data_batch_2 … 5 to the data directory for more).")

# --- the stack -------------------------------------------------------------------------------------------
st.subheader("The stack")
st.markdown("Each row is a block, applied top to bottom. Edit cells, add rows with **+** under the table, "
            "delete rows by selecting them. A `bn` row right after a `conv` goes between the convolution and its "
            "activation; `act` adds an activation of its own.")
ss = st.session_state
editor_key = f"{KEY}-stack-editor-{ss.get(f'{KEY}-stack-v', 0)}"
if editor_key not in ss:
    ss[f"{KEY}-stack-base"] = list(ss[f"{KEY}-stack"])  # what a fresh editor is drawn from
edited = st.data_editor(
    pd.DataFrame(ss[f"{KEY}-stack-base"], columns=COLUMNS), key=editor_key, num_rows="dynamic", hide_index=True,
    width="stretch", placeholder="",  # cells a kind doesn't use stay blank, not "None"
    column_config={
        "kind": st.column_config.SelectboxColumn("kind", options=list(KINDS), required=True),
        "filters": st.column_config.NumberColumn("filters", min_value=1, max_value=512, step=1,
                                                 help="conv: output channels"),
        "kernel": st.column_config.NumberColumn("kernel", min_value=1, max_value=15, step=1, help="conv: k×k"),
        "stride": st.column_config.NumberColumn("stride", min_value=1, max_value=4, step=1),
        "padding": st.column_config.NumberColumn("padding", min_value=0, max_value=7, step=1),
        "activation": st.column_config.SelectboxColumn("activation", options=[*ACTIVATIONS, "none"]),
        "size": st.column_config.NumberColumn("size", min_value=1, max_value=8, step=1, help="pool: k×k, stride k"),
        "p": st.column_config.NumberColumn("p", min_value=0.0, max_value=0.95, step=0.05, help="dropout"),
    })
ss[f"{KEY}-stack"] = edited.to_dict("records")  # kept per page; the run's spec carries a copy
blocks = blocks_of(ss[f"{KEY}-stack"])

c1, c2 = st.columns(2)
dense_text = c1.text_input("Dense head (units per layer, comma-separated; empty = straight to the 10 classes)",
                           key=f"{KEY}-dense", **KEEP)
head_dropout = c2.slider("Dropout in the dense head", 0.0, 0.7, step=0.05, key=f"{KEY}-hdrop", **KEEP)
problem = None
if (dense := dense_of(dense_text)) is None:
    dense, problem = (), (f"Dense head: “{dense_text}” is not a list of whole numbers from 1 to 100,000 such "
                          "as “128, 64”.")

name = preset if blocks == PRESETS[preset] else f"{preset} (edited)"
spec = CNNSpec(dataset=dataset, preset=name, blocks=blocks, dense=dense, dropout=head_dropout, augment=augment,
               label_smoothing=smoothing, n_train=n_train,
               train=TrainConfig(optimizer=optimizer, lr=lr, schedule=schedule, l2=l2, batch_size=batch,
                                 epochs=int(epochs), bf16=bf16))
problem = problem or ("The stack is empty: add a conv row." if not blocks else check(spec, ds.image_shape))
problem = problem or cost_refusal(LESSON, spec)  # sized before anything is built, even for the table below
if differs := preset_differences(spec, preset):
    with preset_box.container():
        st.caption(f"Your settings differ from “{preset}” as set up for {data.TITLES.get(dataset, dataset)}: "
                   f"{', '.join(differs)}.")
        st.button(f"Load “{preset}” for {data.TITLES.get(dataset, dataset)}", key=f"{KEY}-load-preset",
                  on_click=apply_preset, icon=":material/restart_alt:")
if not problem:
    st.session_state[f"{KEY}-built"] = specs.to_dict(spec)  # Compare CNNs offers the stack built here


@st.cache_data(show_spinner=False, max_entries=64)
def cached_table(spec_json: str, image_shape: tuple, n_classes: int) -> pd.DataFrame:
    # torchinfo runs a forward pass with hooks: once per architecture, not every rerun.
    import json

    return layer_table(specs.from_dict(CNNSpec, json.loads(spec_json)), image_shape, n_classes)


if problem:
    st.error(problem, icon=":material/error:")
else:
    import json

    table = cached_table(json.dumps(specs.to_dict(spec)), tuple(ds.image_shape), ds.n_classes)
    total = int(table["parameters (torchinfo)"].sum())
    agree = (table["parameters (formula)"] == table["parameters (torchinfo)"]).all()
    st.markdown(f"**{total:,} trainable parameters** — input {' × '.join(map(str, ds.image_shape))} → "
                f"{len(table)} layers → {ds.n_classes} classes. A convolution has (k·k·C_in + 1)·C_out "
                f"parameters: a k×k filter per input channel, plus one bias, for each output channel.")
    with st.expander("Layer by layer: output shape and parameters (formula vs torchinfo)", expanded=True):
        st.dataframe(table, hide_index=True, width="stretch")
        st.caption("The formula and torchinfo agree on every layer." if agree else
                   "⚠️ The formula and torchinfo disagree on a layer above.")

# --- train, live ------------------------------------------------------------------------------------------
shown = run_controls(KEY, LESSON, spec, ds, disabled=bool(problem))
if problem:
    st.caption("Train is off until the stack is valid.")


def show_filters(weights, caption: str) -> None:
    if weights is None:
        return
    w = np.asarray(weights)
    st.image(filter_grid(w), caption=caption, width=min(640, 60 * min(8, len(w)) + 20))


def render(view) -> None:
    rows = view.metrics()
    c1, c2 = st.columns(2)
    c1.plotly_chart(curves_figure(rows, "loss", "Loss"), width="stretch", key=f"{KEY}-loss")
    c2.plotly_chart(curves_figure(rows, "acc", "Accuracy"), width="stretch", key=f"{KEY}-acc")
    run_spec = LESSON.spec_from(view.run.spec)  # the run's own smoothing, not the slider's
    if note := smoothing_note(run_spec.label_smoothing, len(data.load(run_spec.dataset).classes)):
        st.caption(note)
    if view.is_active:
        epochs_done = len([r for r in rows if r.get("split") == "epoch"])
        st.markdown("**The first layer's filters**, as they are now:")
        show_filters(view.latest("filters"), "initialised at random, before training" if not epochs_done
                     else f"after epoch {epochs_done}")


if shown is None:
    render_empty = st.container()
    with render_empty:
        c1, c2 = st.columns(2)
        c1.plotly_chart(curves_figure([], "loss", "Loss"), width="stretch", key=f"{KEY}-loss")
        c2.plotly_chart(curves_figure([], "acc", "Accuracy"), width="stretch", key=f"{KEY}-acc")
live(KEY, render)

result = finished_result(KEY)
if result is not None:
    run_ds = data.load(result.dataset)  # the run's own data and classes, not the settings on screen
    shape = tuple(run_ds.image_shape)
    if result.filters:
        st.subheader("The first layer's filters")
        n = len(result.filters)
        epoch = st.slider("After epoch", 1, n, n, key=f"{KEY}-filter-epoch-{shown.id}") if n > 1 else 1
        show_filters(result.filters[epoch - 1], f"{len(result.filters[epoch - 1])} filters of "
                     f"{result.filters[0].shape[-1]}×{result.filters[0].shape[-1]} after epoch {epoch}")
        st.caption("Bright is a large weight, dark a small (negative) one. Trained filters look like edge and "
                   "blob detectors: strokes at an angle, light-to-dark transitions, colour contrasts.")
    same_data = runs.data_matches(shown.run, run_ds)
    test_set_report(KEY, result.test_acc, result.confusion, result.classes, run_ds.x_test if same_data else None,
                    run_ds.y_test, result.wrong, result.wrong_pred)

    # --- inside: feature maps ------------------------------------------------------------------------------
    st.subheader("Inside the network: feature maps")
    st.markdown("Every convolution turns the image into one map per filter — bright where its pattern is. "
                "Pooling halves them; deeper layers answer to bigger, more abstract patterns.")
    sources = ["A test image", "An uploaded image"] + (["A drawing"] if shape[0] == 1 else [])
    source = st.radio("Image", sources, horizontal=True, key=f"{KEY}-fm-source")
    image, what = None, ""
    if source == "A test image":
        i = st.number_input("Test image number", 0, len(run_ds.x_test) - 1, 0, key=f"{KEY}-fm-index")
        image = run_ds.x_test[int(i)]
        what = f"test image {int(i)}, a “{result.classes[int(run_ds.y_test[int(i)])]}”"
    elif source == "An uploaded image":
        upload = st.file_uploader(
            "Any picture (PNG, JPEG, GIF, WebP, BMP…, up to 10 MB): it is converted to "
            f"{'grayscale' if shape[0] == 1 else 'colour'} {shape[1]}×{shape[2]} like the training images",
            key=f"{KEY}-upload")
        if upload is not None:
            try:
                image = load_upload(upload.getvalue(), upload.name, shape)
                what = f"“{upload.name}”"
                if shape[0] == 1 and is_blank(image):
                    st.warning("Nothing stands out from the background of this picture: the model sees a blank "
                               "image.", icon=":material/warning:")
            except ImageRejected as exc:
                st.error(str(exc), icon=":material/broken_image:")
        if shape[0] == 1:
            st.caption("A photo of a digit on paper is inverted to bright-on-dark and framed like MNIST's digits.")
    else:
        from dlplay_app.ui.draw import digit_canvas

        drawn = digit_canvas(f"{KEY}-canvas-{shown.id}", show_preview=False)
        if drawn is not None:
            image, what = drawn[None].astype(np.float32), "your drawing"
    if image is not None:
        probs = classify(result.model, image)
        c1, c2 = st.columns([1, 3])
        c1.image(to_uint8(np.asarray(image)), caption=f"what the model sees: {what}", width=140)
        with c2:
            st.markdown(f"**Prediction: {result.classes[int(np.argmax(probs))]}** ({probs.max():.0%})")
            st.plotly_chart(probability_figure(probs, result.classes), width="stretch", key=f"{KEY}-fm-probs")
            if note := smoothing_note(result.spec.label_smoothing, len(result.classes), "prediction"):
                st.caption(note)
        layers = [(n, m) for n, m in feature_maps(result.model, np.asarray(image)) if n.startswith(("conv", "pool"))]
        for j, (lname, maps) in enumerate(layers):
            label = (f"{lname}: {maps.shape[0]} maps of {maps.shape[1]}×{maps.shape[2]}"
                     + (" (the first 32)" if maps.shape[0] > 32 else ""))
            with st.expander(label, expanded=j == 0):
                st.image(maps_grid(maps), width="stretch" if maps.shape[0] >= 8 else "content")

st.markdown("""
**What to notice**
- The parameter count of a convolution doesn't depend on the image size; the dense layer after the last
  pooling usually holds most of the parameters. Pool earlier, or end with fewer channels, and it shrinks.
- Try a 9×9 kernel after three poolings on MNIST (3×3 left): the page says why it can't be built.
- First-layer filters start as noise and become oriented edges and blobs within an epoch.
- Feature maps of an early layer still look like the image; deeper ones are small and abstract.
- “deeper, untuned” is often *worse* than “simple”: compare them on the **Compare CNNs** page.
""")
