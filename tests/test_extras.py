"""The optional extras (`dlplay[music]`, `dlplay[cluster]`): an install without one says, on the page
that needs it, what is missing and the one command that adds it — never a traceback."""
from __future__ import annotations

import importlib.util

from dlplay import extras

PAGE = "pages/music/lstm_music.py"


def test_this_install_has_every_extra():
    assert extras.missing("music") == [] and extras.missing("cluster") == []
    assert extras.message("music", "The music lesson") is None


def test_without_the_music_extra_the_page_says_how_to_add_it(apptest, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "music21" else real(name, *a))
    at = apptest(PAGE).run()
    assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    assert "music21 is not installed" in error and "pip install 'dlplay[music]'" in error
    assert not at.button, "nothing to train without it"
