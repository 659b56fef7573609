"""The course table (`dlplay.course`, issue 26): each page named once, and the menu, the lessons,
the pages and the stored runs all read it — a page's name can't drift between them again."""
from __future__ import annotations

import pytest

from dlplay import course
from dlplay.runs.lesson import lesson_for
from tests.conftest import APP


def test_every_page_is_named_once_and_its_script_exists():
    keys = [p.key for p in course.COURSE]
    assert len(keys) == len(set(keys)) == 31
    assert len({p.path for p in course.COURSE}) == len(keys) and len({p.url for p in course.COURSE}) == len(keys)
    for p in course.COURSE:
        assert (APP / p.path).is_file(), p.path
        assert course.here(str(APP / p.path)) is p and course.here(p.path) is p
    assert list(course.sections())[:3] == ["Start", "From scratch (NumPy)", "Neural networks"]


@pytest.mark.parametrize("key", list(course.lessons()))
def test_a_lesson_takes_its_key_title_and_script_from_the_table(key):
    lesson, page = lesson_for(key), course.page(key)
    assert (lesson.page, lesson.title, lesson.path) == (page.key, page.title, page.path)


def test_pages_and_the_menu_take_their_key_and_heading_from_the_table():
    for p in course.COURSE[1:]:  # (the welcome page has a heading of its own)
        source = (APP / p.path).read_text()
        assert "st.title(course.page(KEY).heading)" in source, p.path
        if p.key != "pg":  # the playground's key is its panels' (ui.playground), checked below
            assert "KEY = course.here(__file__).key" in source, p.path
    assert 'KEY = course.page("pg").key' in (APP / "ui/playground.py").read_text()
    app = (APP / "app.py").read_text()
    assert "course.sections()" in app and 'st.Page("' not in app, "app.py builds its menu from the table"
