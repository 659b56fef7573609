"""ui.escape: a visitor's names shown as typed in Streamlit's Markdown (issue 25)."""
import re

import pytest

from dlplay_app.ui.escape import html_text, md, md_list

NAMES = ["*x*", "[a](http://x)", "$x$", ":red[x]", "# heading", "a_b_c", "<b>bold</b>", "`code`", "~~gone~~",
         "1. list", "- item", "www.example.com", "back\\slash", "|a|b|", "![img](http://x/y.png)"]


def literal(markdown: str) -> str:
    """What CommonMark shows for text whose every punctuation mark is escaped: the backslashes go."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


@pytest.mark.parametrize("name", NAMES)
def test_every_markdown_mark_is_escaped_and_shows_as_typed(name):
    out = md(name)
    assert literal(out) == name
    # no punctuation left that Markdown could read: each one follows a backslash
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\[!-/:-@\[-`{-~]", "", out)), out


def test_line_breaks_cannot_start_a_block_and_lists_join_escaped():
    assert md("a\n# b\r\nc") == r"a \# b c"
    assert md_list(["*a*", "b_c"]) == r"\*a\*, b\_c"
    assert html_text("<script>x</script> & 'q'") == "&lt;script&gt;x&lt;/script&gt; &amp; &#x27;q&#x27;"
