"""Inside a trained network: receptive fields, gradient ascent and saliency for a trained MLP or CNN run."""
import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from dlplay import course, data, runs
from dlplay.vision import inside
from dlplay.viz import heat_image, montage, to_uint8
from dlplay_app.ui.live import live, start_job
from dlplay_app.ui.runs import workspace
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
SOURCES = {"mlp": "Digit classifier (MLP)", "cnn": "CNN builder"}

st.title(course.page(KEY).heading)
st.markdown(
    "A trained network is not a black box: its weights and gradients can be looked at. Pick one of your trained "
    "runs and see **what each unit responds to** (its receptive field), **what image excites it most** "
    "(gradient ascent), and **which pixels decided** its answer for one image (saliency).")


def _lesson_pages() -> list[str]:
    pages = []
    for page in SOURCES:
        try:
            if runs.lesson_for(page) is not None:
                pages.append(page)
        except Exception:  # noqa: BLE001 - a lesson that can't be imported offers no runs
            pass
    return pages


pages = _lesson_pages()
candidates = [r for r in runs.get_store().list(workspace(), pages=pages)
              if r.state in (runs.DONE, runs.STOPPED) and r.has_model]
if not candidates:
    st.info("No trained run to look inside yet. Train a model on the **Digit classifier (MLP)** page"
            + (" or the **CNN builder**" if "cnn" in pages else "")
            + " — press Train there and let it finish (or stop it after an epoch); it then appears here.",
            icon=":material/school:")
    st.stop()

by_id = {r.id: r for r in candidates}
with st.sidebar:
    st.header("Run")
    run_id = st.selectbox("Trained run", list(by_id), key=f"{KEY}-run", **KEEP,
                          format_func=lambda i: f"{SOURCES.get(by_id[i].page, by_id[i].page)} · {by_id[i].label()}")
run = by_id.get(run_id) or candidates[0]
try:
    result = runs.result_of(run)
except Exception:  # noqa: BLE001 - a run whose files are damaged is named, not a traceback
    result = None
if result is None:
    st.error(f"Run {run.id}'s model could not be loaded. Pick another run, or train it again.")
    st.stop()

model = result.model.cpu().eval()
st.markdown(f"<div class='dl-run-label'>📌 <b>{run.label()}</b></div>", unsafe_allow_html=True)
try:
    ds = data.load(result.dataset)
except Exception:  # noqa: BLE001 - the sections that need test images say so
    ds = None
image_shape = tuple(ds.image_shape) if ds is not None else (1, 28, 28)
classes = list(result.classes)
seq = inside.sequential_of(model)
is_cnn = any(isinstance(m, torch.nn.Conv2d) for m in seq)
if ds is None:
    st.warning(f"The dataset this run trained on ({result.dataset}) isn't available on the server now: the "
               "sections that need its test images are skipped.")


def signed_montage(fields: np.ndarray, ncols: int) -> np.ndarray:
    """Each field scaled to its own largest |weight|: grey 0, white positive, black negative."""
    flat = fields.reshape(len(fields), -1)
    scale = np.abs(flat).max(1).reshape(-1, *([1] * (fields.ndim - 1))) + 1e-12
    return montage(0.5 + 0.5 * fields / scale, ncols=ncols)


# --- 1. receptive fields ----------------------------------------------------------------------
st.header("1 · Receptive fields")
if not is_cnn:
    layers = inside.linears(model)
    names = [f"hidden layer {i + 1} ({lin.out_features} units)" for i, lin in enumerate(layers[:-1])]
    names.append(f"output layer ({layers[-1].out_features} classes)")
    depth = st.select_slider("Layer", list(range(1, len(layers) + 1)), value=1, key=f"{KEY}-depth",
                             format_func=lambda d: names[d - 1], **KEEP)
    fields = inside.linear_fields(model, depth, image_shape)
    shown = fields[:64]
    st.image(signed_montage(shown, ncols=16 if len(shown) > 10 else 10), width="stretch")
    if depth == 1:
        st.caption(f"The first {len(shown)} of {len(fields)} hidden units' weights, each as a "
                   f"{image_shape[1]}×{image_shape[2]} image: white pixels push the unit up, black ones down. "
                   "Each unit is a template its input is compared with.")
    else:
        st.caption("Linear receptive fields: rows of W" + "·W".join(str(k) for k in range(depth, 0, -1))
                   + " (the columns of W1ᵀ·…·W" + f"{depth}ᵀ). This **ignores the activations and biases**: it is "
                   "what the unit would respond to if every activation were the identity — a first guess, "
                   "not the truth of a nonlinear network."
                   + (f" Output fields in order: {', '.join(classes)}." if depth == len(layers) else ""))
else:
    rfs = inside.receptive_fields(model)
    st.dataframe([{"layer": f.name, "kind": f.kind, "kernel": f.kernel, "stride": f.stride, "padding": f.padding,
                   "receptive field (px)": f"{f.r}×{f.r}", "jump (px)": f.j} for f in rfs],
                 hide_index=True, width="stretch")
    st.caption("Theoretical size by the recurrence r_out = r_in + (k − 1)·j_in, j_out = j_in·stride: "
               "how many input pixels along a side a unit of that layer can see at all.")
    spatial = [f for f in rfs if f.kind in ("conv", "pool")]
    if spatial and ds is not None:
        pick = st.selectbox("Layer to measure", [f.name for f in spatial], key=f"{KEY}-erf-layer", **KEEP)
        rf = next(f for f in spatial if f.name == pick)
        erf, (cy, cx) = inside.effective_receptive_field(model, rf.index, ds.x_test[:16])
        lo_y, hi_y = rf.window(cy)
        lo_x, hi_x = rf.window(cx)
        box = (max(0, int(np.ceil(lo_y))), int(np.floor(hi_y)), max(0, int(np.ceil(lo_x))), int(np.floor(hi_x)))
        c1, c2 = st.columns([3, 2])
        c1.image(heat_image(erf, box), width=336,
                 caption=f"Effective receptive field of {pick}'s centre unit (black: no gradient)")
        c2.metric("Theoretical", f"{rf.r}×{rf.r} px")
        c2.metric("Holds 95 % of the gradient", f"{inside.erf_size(erf)}×{inside.erf_size(erf)} px")
        c2.caption("|∂ centre unit / ∂ pixel| averaged over 16 test images; the blue box is the theoretical "
                   "field (cut at the image border). The gradient concentrates near the centre: the *effective* "
                   "field is smaller than the theoretical one.")

# --- 2. gradient ascent -------------------------------------------------------------------------
st.header("2 · Gradient ascent: the image a unit likes most")
st.markdown("Start from faint noise (or black) and change the **pixels**, not the weights, to raise one unit's "
            "activation. L2 decay keeps pixels dark, blur and jitter keep the image smooth and natural-looking "
            "instead of a pattern of high-frequency noise.")
choices = {}
for i, (name, m) in enumerate(seq.named_children()):
    if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) or (i > 0 and isinstance(m, (torch.nn.ReLU, torch.nn.GELU,
                                                                                       torch.nn.Tanh, torch.nn.Sigmoid,
                                                                                       torch.nn.MaxPool2d))):
        choices[name] = i
last = list(choices)[-1]
with torch.no_grad():
    shapes = {n: tuple(inside.up_to(model, i)(torch.zeros(1, *image_shape)).shape[1:]) for n, i in choices.items()}
widths = {n: shape[0] for n, shape in shapes.items()}


def describe_layer(name: str) -> str:
    if name == last:
        return f"{name}: class scores"
    unit = "channel" if len(shapes[name]) == 3 else "neuron"
    return f"{name}: {type(seq[choices[name]]).__name__} ({widths[name]} {unit}s)"


c1, c2, c3 = st.columns(3)
layer = c1.selectbox("Layer", list(choices), index=len(choices) - 1, format_func=describe_layer,
                     key=f"{KEY}-layer", **KEEP)
n_units = widths.get(layer, 1)
if layer == last:
    unit = c2.selectbox("Class", list(range(n_units)), format_func=lambda k: classes[k] if k < len(classes) else str(k),
                        key=f"{KEY}-class", **KEEP)
else:
    unit = int(c2.number_input(f"Unit (0 … {n_units - 1})", 0, max(0, n_units - 1), 0, key=f"{KEY}-unit", **KEEP))
unit = min(int(unit), n_units - 1)
start = c3.radio("Start from", ["noise", "blank"], horizontal=True, key=f"{KEY}-start", **KEEP)
c1, c2, c3, c4, c5 = st.columns(5)
steps = c1.select_slider("Steps", [20, 50, 100, 200, 400], value=100, key=f"{KEY}-steps", **KEEP)
lr = c2.select_slider("Step size", [0.01, 0.02, 0.05, 0.1, 0.2], value=0.05, key=f"{KEY}-lr", **KEEP)
l2 = c3.select_slider("L2 decay", [0.0, 1e-4, 1e-3, 1e-2, 3e-2], value=1e-3, key=f"{KEY}-l2",
                      format_func=lambda v: f"{v:g}", **KEEP)
blur_every = c4.slider("Blur every k steps (0 = off)", 0, 20, 4, key=f"{KEY}-blur", **KEEP)
jitter = c5.slider("Jitter (px)", 0, 4, 1, key=f"{KEY}-jitter", **KEEP)
cfg = inside.AscentConfig(steps=int(steps), lr=float(lr), l2=float(l2), blur_every=int(blur_every),
                          jitter=int(jitter), start=start)
if st.button("Run gradient ascent", key=f"{KEY}-ascend", type="primary"):
    st.session_state[f"{KEY}-ascent-for"] = (run.id, layer, unit)
    start_job(KEY, inside.ascent_job(model, inside.Target(layer, unit), image_shape, cfg), name="Gradient ascent",
              work=inside.ascent_work(cfg))


def render_ascent(job):
    image = job.latest("image")
    rows = [r for r in job.metrics() if r.get("split") == "ascent"]
    c1, c2 = st.columns([1, 2])
    if image is not None:
        c1.image(to_uint8(image), width=196, clamp=True)
        with torch.no_grad():
            probs = torch.softmax(model(torch.from_numpy(np.asarray(image, np.float32))[None]), 1)[0]
        k = int(probs.argmax())
        c1.caption(f"The model calls it **{classes[k] if k < len(classes) else k}** ({float(probs[k]):.0%})")
    if rows:
        fig = go.Figure(go.Scatter(x=[r["step"] for r in rows], y=[r["value"] for r in rows], mode="lines"))
        fig.update_layout(title="Target activation", height=260, margin=dict(l=10, r=10, t=40, b=10),
                          xaxis_title="step")
        c2.plotly_chart(fig, width="stretch", key=f"{KEY}-ascent-curve")
        if len(rows) > 1:
            c2.caption(f"from {rows[0]['value']:.3g} to {rows[-1]['value']:.3g}")


for_what = st.session_state.get(f"{KEY}-ascent-for")
if for_what is not None and for_what[0] == run.id:
    st.caption(f"Gradient ascent on {for_what[1]}, unit {for_what[2]} of run {run.id}:")
    live(KEY, render_ascent)

# --- 3. saliency ------------------------------------------------------------------------------
st.header("3 · Saliency: which pixels decided")
drawable = image_shape == (1, 28, 28)
options = (["a test image"] if ds is not None else []) + (["my drawing"] if drawable else [])
if not options:
    st.info("Saliency needs the run's test images, which aren't available now.")
else:
    c1, c2 = st.columns(2)
    source = c1.radio("Explain", options, horizontal=True, key=f"{KEY}-sal-source", **KEEP)
    method = c2.selectbox("Method", list(inside.SALIENCY_METHODS), format_func=inside.SALIENCY_METHODS.get,
                          key=f"{KEY}-sal-method", **KEEP)
    image = None
    if source == "a test image":
        idx = int(st.number_input(f"Test image (0 … {len(ds.x_test) - 1})", 0, len(ds.x_test) - 1, 0,
                                  key=f"{KEY}-sal-index", **KEEP))
        image = ds.x_test[idx].numpy()
        st.caption(f"True class: {classes[int(ds.y_test[idx])]}")
    else:
        from dlplay_app.ui.draw import digit_canvas

        drawing = digit_canvas(f"{KEY}-canvas-{run.id}", show_preview=False)
        if drawing is None:
            st.caption("The canvas is empty — draw a digit to see which of its pixels the model looks at.")
        else:
            image = np.asarray(drawing, np.float32).reshape(1, 28, 28)
    if image is not None:
        sal, target = inside.saliency(model, image, method=method)
        share, ink = inside.stroke_share(sal, image)
        c1, c2 = st.columns(2)
        c1.image(to_uint8(image), width=196, caption=f"the model says: {classes[target]}")
        c2.image(heat_image(sal, scale=7), width=196, caption=f"saliency for “{classes[target]}” (bright: matters most)")
        st.caption(f"{share:.0%} of the saliency lies on the {ink:.0%} of pixels that are ink. Plain gradients "
                   "also light up background pixels (a stroke there would change the answer); integrated "
                   "gradients weigh each pixel by how far it is from black, so they sit on the stroke itself.")

st.markdown("""
**What to notice**
- First-layer MLP units look like blurry strokes and blobs: templates matched against the whole image.
- The product of weight matrices gives a field for every deeper unit, but it ignores the activations: a ReLU
  that is off for most inputs makes the real field quite different.
- A CNN unit sees only its receptive field; stacking layers and pooling grows it, and the gradient shows that the
  centre of that field matters most.
- Class images found by gradient ascent are read as their class by the model, yet rarely look like clean digits to
  you: the model's idea of a "3" is not yours. Turn the blur and jitter off to see how noisy it gets.
""")
