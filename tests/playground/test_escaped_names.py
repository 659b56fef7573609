"""The playground shows an uploaded CSV's name, its class names, ignored columns and the cells its
error messages quote as typed: Markdown in them is escaped (issue 25)."""
from __future__ import annotations

import re

import numpy as np

from dlplay.playground.custom import read_csv

PAGE = "pages/playground/playground.py"
NAME = "*x*[a](http://x).csv"


def literal(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


class Upload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def uploaded(monkeypatch, name: str, text: str) -> list[tuple[str, str]]:
    import dlplay_app.ui.playground as panels

    state = {"pg-upload": Upload(name, text.encode())}
    monkeypatch.setattr(panels, "ss", state)
    panels._uploaded()
    return state["pg:notes"]


def test_a_bad_cell_and_the_file_name_show_as_typed(monkeypatch):
    (kind, text), = uploaded(monkeypatch, NAME, "x1,x2,label\n1,2,a\n[click](http://evil),3,b\n" + "1,1,a\n" * 12)
    assert kind == "error"
    assert "[click](http" not in text and "*x*" not in text, text  # nothing Markdown could read
    assert literal(text).startswith(f"**{NAME}**: Row 2 (line 3 of the file), column x1 holds '[click](http://evil)'")


def test_class_names_and_ignored_columns_show_as_typed(monkeypatch):
    rows = "".join(f"{i % 5 - 2},{i % 3 - 1},{'*a*' if i % 2 else '_b_'},n\n" for i in range(30))
    (kind, text), = uploaded(monkeypatch, NAME, "x1,x2,label,[note](http://x)\n" + rows)
    assert kind == "success"
    assert "](http" not in text and "*a*" not in text and "_b_" not in text, text
    shown = literal(text)
    assert shown.startswith(f"**{NAME}**: 30 points, 2 classes (*a*, _b_)") and "Ignored column: [note](http://x)" in shown


def test_the_page_names_the_data_as_typed(apptest):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{x:.3f},{y:.3f},{'in' if x * x + y * y < 9 else 'out'}" for x, y in rng.uniform(-5, 5, (60, 2)))
    at = apptest(PAGE)
    at.session_state["pg:data"] = read_csv(("x1,x2,label\n" + rows).encode(), NAME)
    at.session_state["pg-dataset"] = "custom"
    at.run()
    assert not at.exception
    page = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert NAME not in page and "](http://x)" not in page
    assert f"{NAME} (60 points, yours)" in literal(page) and f"Your data: {NAME}, 60 points" in literal(page)
