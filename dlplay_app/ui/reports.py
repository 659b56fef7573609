"""Result sections that several classifier pages share: the test-set report and
draw-to-classify."""
from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from dlplay.viz import confusion_figure, montage, probability_figure
from dlplay_app.ui.draw import digit_canvas


def test_set_report(key: str, accuracy: float, confusion: np.ndarray, classes: list[str], images,
                    labels, wrong: np.ndarray, wrong_pred: np.ndarray) -> None:
    """Test accuracy, the confusion matrix and the most confident mistakes. `images` and
    `labels` are the run's own test set; None when that data isn't available any more."""
    st.subheader("On the test set")
    n_test = int(np.asarray(confusion).sum())
    st.metric("Test accuracy", f"{accuracy:.2%}", help=f"{n_test:,} images never seen in training")
    c1, c2 = st.columns([3, 2])
    with c1:
        st.markdown("**Confusion matrix** — rows are the true class, columns the prediction.")
        st.plotly_chart(confusion_figure(confusion, classes), width="stretch", key=f"{key}-cm")
    with c2:
        st.markdown("**Most confident mistakes**")
        shown = wrong[:24]
        if images is None or (len(shown) and int(np.max(shown)) >= len(images)):
            st.caption("The test images this run was measured on aren't available on the server now, so its "
                       "mistakes can't be shown.")
        elif len(shown):
            st.image(montage(np.asarray(images[shown]), ncols=6), width="stretch")
            st.caption(" · ".join(f"{classes[int(labels[i])]}→{classes[int(p)]}"
                                  for i, p in zip(shown[:12], wrong_pred[:12])))


def draw_to_classify(key: str, predict: Callable[[np.ndarray], np.ndarray] | None, classes: list[str],
                     what: str = "a model", run_id: int | str | None = None, noun: str = "a digit") -> None:
    """A canvas; once `predict` (28×28 image → class probabilities) is given, the
    prediction and every class's probability. The canvas belongs to the run
    (`run_id`): a new run starts with an empty canvas, never an old drawing."""
    st.subheader(f"Draw {noun}")
    if predict is None:
        st.info(f"Train {what} first; then draw here to see what it predicts.")
    c1, c2 = st.columns(2)
    with c1:
        image = digit_canvas(f"{key}-canvas" + (f"-{run_id}" if run_id is not None else ""))
    with c2:
        if image is None:
            st.caption(f"The canvas is empty — draw {noun} with your mouse or finger.")
        elif predict is not None:
            probs = predict(image)
            st.markdown(f"### Prediction: **{classes[int(np.argmax(probs))]}** ({probs.max():.0%})")
            st.plotly_chart(probability_figure(probs, classes), width="stretch", key=f"{key}-probs")
