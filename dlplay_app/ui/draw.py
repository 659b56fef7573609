"""The draw-a-digit canvas, shared by every page that classifies or reconstructs drawings.

streamlit_drawable_canvas only imports under `streamlit run` / AppTest, so it is
imported here (used by pages), never from `dlplay`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from dlplay.drawing import canvas_to_mnist
from dlplay.viz import to_uint8

CANVAS_PX = 280


def digit_canvas(key: str, show_preview: bool = True) -> np.ndarray | None:
    """A canvas to draw on; returns the drawing as an MNIST-like 28×28 image in [0, 1],
    or None while the canvas is empty (the caller says what to do)."""
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(stroke_width=20, stroke_color="#000000", background_color="#ffffff",
                       height=CANVAS_PX, width=CANVAS_PX, drawing_mode="freedraw",
                       return_image_data=True, key=key)
    image = canvas_to_mnist(result.image_data) if result is not None and result.image_data is not None else None
    if show_preview and image is not None:
        st.image(to_uint8(image), width=112, caption="what the model sees (28×28, centred by mass)")
    return image
