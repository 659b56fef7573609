"""Regression & model selection: pick hyperparameters by K-fold cross-validation, and watch a
polynomial overfit as its degree grows — unless a penalty (a prior) holds it back."""
import numpy as np
import pandas as pd
import streamlit as st

from dlplay import course
from dlplay.scratch.datasets import noisy_regression, true_function
from dlplay.scratch.figures import degree_figure, fit_figure, grid_progress_figure
from dlplay.scratch.polyfit import PRIORS, degree_sweep, fit_poly, mse
from dlplay.scratch.selection import LESSON, SearchSpec
from dlplay_app.ui.live import finished_result, live
from dlplay_app.ui.runs import open_page, run_controls
from dlplay_app.ui.settings import KEEP

KEY = course.here(__file__).key
CURVE_X = np.linspace(-1, 1, 300)
open_page(KEY)  # a run reopened from the Runs page brings its settings back first

st.title(course.page(KEY).heading)
st.markdown(
    "The data are noisy samples of a smooth curve, **y = sin(3x) + noise**. Which network fits it best — "
    "how deep, how wide, which learning rate, how much L2? The training error cannot tell (bigger always "
    "fits the training points better); **K-fold cross-validation** can: train on K − 1 parts, measure on the "
    "part left out, average over the K choices. A **grid search** does that for every combination.")

with st.sidebar:
    st.header("Data")
    n_points = st.slider("Points", 20, 200, 60, 10, key=f"{KEY}-n", **KEEP)
    noise = st.slider("Noise (std)", 0.0, 0.6, 0.25, 0.05, key=f"{KEY}-noise", **KEEP)
    seed = st.number_input("Seed", 0, 9999, 0, key=f"{KEY}-seed", **KEEP)

x, y = noisy_regression(n_points, noise, int(seed))

# --- part 1: grid search with K-fold CV -----------------------------------------------------------
st.header("1 · Grid search with K-fold cross-validation")
c1, c2, c3, c4 = st.columns(4)
depths = c1.multiselect("Hidden layers", [1, 2, 3], [1, 2], key=f"{KEY}-depth", **KEEP)
widths = c2.multiselect("Units per layer", [2, 4, 8, 16, 32, 64], [2, 16], key=f"{KEY}-width", **KEEP)
lrs = c3.multiselect("Learning rate", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0], [0.003, 0.1],
                     key=f"{KEY}-lr", **KEEP)
l2s = c4.multiselect("L2 penalty", [0.0, 1e-4, 1e-3, 1e-2, 1e-1], [0.0, 1e-2], key=f"{KEY}-l2", **KEEP)
c1, c2 = st.columns(2)
k = c1.slider("Folds (K)", 2, 10, 5, key=f"{KEY}-k", **KEEP)
epochs = c2.select_slider("Epochs per fit (full batch, momentum 0.9, tanh)", [200, 500, 1000, 2000], 1000,
                          key=f"{KEY}-epochs", **KEEP)
spec = SearchSpec(n_points=n_points, noise=noise, seed=int(seed), depths=tuple(depths), widths=tuple(widths),
                  lrs=tuple(lrs), l2s=tuple(l2s), k=k, epochs=epochs)
grid = spec.grid()
labels = {"depth": "Hidden layers", "width": "Units per layer", "lr": "Learning rate", "l2": "L2 penalty"}
n_settings = int(np.prod([len(v) for v in grid.values()]))
missing = [labels[name] for name, values in grid.items() if not values]
if missing:
    st.warning(f"Pick at least one value for: {', '.join(missing)}.")
else:
    st.caption(f"{n_settings} settings × {k} folds = {n_settings * k} trainings, then the best setting "
               "is retrained on all the points.")

shown = run_controls(KEY, LESSON, spec, label="Search", disabled=bool(missing))


def render(job):
    rows = [r for r in job.metrics() if r.get("split") == "grid"]
    if rows:
        st.plotly_chart(grid_progress_figure(rows), width="stretch", key=f"{KEY}-progress")


live(KEY, render)

found = finished_result(KEY)
if found is not None:
    run_spec = LESSON.spec_from(shown.run.spec)  # its points and noise, not the sliders' now
    table = pd.DataFrame(found.table())
    diverged = int((table["note"] != "").sum())
    if not diverged:
        table = table.drop(columns="note")
    best = found.points[0]
    c1, c2 = st.columns([2, 3])
    with c1:
        st.markdown("**Settings, best cross-validated MSE first**")
        st.dataframe(table.style.format({"cv_mse": "{:.4f}", "cv_std": "{:.4f}", "lr": "{:g}", "l2": "{:g}"})
                     .highlight_min(subset=["cv_mse"], color="#d4f4dd"), hide_index=True, width="stretch",
                     height=360)
        if diverged:
            st.caption(f"{diverged} setting(s) diverged (loss became NaN): listed last with an infinite error.")
    with c2:
        pred = found.best.forward(CURVE_X.reshape(-1, 1)).ravel()
        label = ", ".join(f"{k_}={v}" for k_, v in best.params.items())
        st.plotly_chart(fit_figure(found.x, found.y, {"true curve sin(3x)": (CURVE_X, true_function(CURVE_X)),
                                                      f"winner ({label})": (CURVE_X, pred)},
                                   title=f"The winner, retrained on all {len(found.x)} points"),
                        width="stretch", key=f"{KEY}-winner")
        m1, m2 = st.columns(2)
        m1.metric("Winner's CV MSE", f"{best.cv_error:.4f} ± {best.cv_std:.4f}",
                  help=f"The noise alone costs {run_spec.noise ** 2:.4f} (its variance): no model can beat that "
                       "on average.")
        m2.metric(f"Winner's MSE on all {len(found.x)} points", f"{found.winner_mse:.4f}",
                  help="Retrained on every point, measured on the same points: lower than its CV error, "
                       "which is measured on points each fit never saw.")

# --- part 2: polynomial degree, L1/L2 ---------------------------------------------------------------
st.header("2 · Polynomial fits: degree, overfitting, and penalties")
st.markdown(
    "Half of the points train a polynomial; the other half test it. Raise the degree: the training error "
    "always falls, the test error falls and then **rises** — the curve starts fitting the noise.")
c1, c2, c3 = st.columns(3)
degree = c1.slider("Degree", 1, 20, 5, key=f"{KEY}-degree", **KEEP)
penalty = c2.radio("Penalty", ["none", "l2", "l1"], format_func={"none": "none", "l2": "L2 (ridge)",
                                                                  "l1": "L1 (lasso)"}.get,
                   horizontal=True, key=f"{KEY}-penalty", **KEEP)
alpha = c3.select_slider("Penalty strength α", [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0], 1e-2, key=f"{KEY}-alpha", **KEEP,
                         format_func=lambda v: f"{v:g}", disabled=penalty == "none")
st.info(PRIORS[penalty])

perm = np.random.default_rng(int(seed) + 1).permutation(len(x))
tr, te = np.sort(perm[: len(x) // 2]), np.sort(perm[len(x) // 2:])
strength = 0.0 if penalty == "none" else alpha
model = fit_poly(x[tr], y[tr], degree, penalty, strength)
sweep = degree_sweep(x[tr], y[tr], x[te], y[te], range(1, 21), penalty, strength)
c1, c2 = st.columns(2)
c1.plotly_chart(fit_figure(x[tr], y[tr], {"true curve sin(3x)": (CURVE_X, true_function(CURVE_X)),
                                          f"degree {degree} fit": (CURVE_X, model.predict(CURVE_X))},
                           x[te], y[te], title=f"Degree {degree}"), width="stretch", key=f"{KEY}-poly")
c2.plotly_chart(degree_figure(sweep, degree), width="stretch", key=f"{KEY}-sweep")
m1, m2, m3 = st.columns(3)
m1.metric("Train MSE", f"{mse(model, x[tr], y[tr]):.4f}")
m2.metric("Test MSE", f"{mse(model, x[te], y[te]):.4f}")
m3.metric("Non-zero coefficients", f"{int(np.sum(np.abs(model.coef) > 1e-10))} of {degree}",
          help="Coefficients of the Legendre polynomials P₁…P_degree (same polynomials as x…x^degree, "
               "better conditioned).")

st.markdown("""
**What to notice**
- In the grid, tiny learning rates underfit (the curve stays almost flat) and the best settings sit a little
  above the noise variance — the floor no model can go below.
- Without a penalty, degree 15–20 passes close to every training point and swings wildly between them: train
  error near zero, test error huge. L2 tames the swings; L1 switches most coefficients off.
- Penalties are priors: minimising squared error + α·‖w‖² is the most probable fit if you believed, before
  seeing data, that weights are Gaussian around 0; with α·‖w‖₁ the belief is a Laplace distribution.
""")
