"""Text a visitor supplied — an uploaded file's name, a cell or a column of their CSV — shown
as typed where Streamlit reads Markdown (st.markdown, st.caption, st.error, st.success…).

Streamlit's Markdown turns `*x*` into italics, `[a](http://x)` into a link, `$x$` into maths
and `:red[x]` into colour; a line starting `# ` becomes a heading. Backslash-escaping every
ASCII punctuation mark (CommonMark lets any of them be escaped) shows each as itself, and
line breaks become spaces so a name can't start a block of its own. (pages/music/lstm_music.py's
`as_text` does the same for MIDI file names.)
"""
from __future__ import annotations

import html
import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


def md(text) -> str:
    """`text` for Markdown: shown literally, on one line."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(text)))


def md_list(items, sep: str = ", ") -> str:
    """Several visitor-supplied names for Markdown, joined by `sep`."""
    return sep.join(md(i) for i in items)


def html_text(text) -> str:
    """`text` for HTML (st.html, unsafe_allow_html): tags and entities shown, not read."""
    return html.escape(str(text), quote=True)


__all__ = ["html_text", "md", "md_list"]
