"""CNN builder: a dense head too big for memory is refused before anything is built — the
parameter table included — naming what to lower (a `50000, 50000` head once OOM-killed
the server while the page drew its table, and `100000, 100000` showed an allocation error)."""
from __future__ import annotations

import resource

import pytest


@pytest.mark.parametrize("head", ["50000, 50000", "100000, 100000"])
def test_a_head_too_big_for_memory_is_refused_before_it_is_built(apptest, head):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    at = apptest("app.py").run()
    at.switch_page("pages/vision/cnn.py").run()
    at.text_input(key="cnn-dense").set_value(head).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Too big for this machine's memory" in errors and "Lower the dense head's units" in errors, errors
    assert at.button(key="cnn-train").disabled
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 1500, "MB grown: it was built"


def test_the_table_of_a_big_but_allowed_head_is_drawn_without_building_it(apptest, monkeypatch):
    monkeypatch.setenv("DLPLAY_MAX_RUN_MB", "1000000")  # a machine that could train it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    at = apptest("app.py").run()
    at.switch_page("pages/vision/cnn.py").run()
    at.text_input(key="cnn-dense").set_value("50000, 50000").run()
    assert not at.exception and not at.error
    assert any("2,5" in m.value and "trainable parameters" in m.value for m in at.markdown)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 1500
