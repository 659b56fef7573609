"""Private workspace keys on a shared server: whoever holds a key sees and may delete that
workspace's runs, so a key must be as hard to guess as a generated one.

Generated keys are 24 characters of URL-safe base64 (144 random bits). A key a visitor
brings (a bookmark, a cookie set by hand) is accepted only if it looks like one: no
shorter, drawn from the same alphabet, with as many different characters as random keys
always have (never fewer than 12 in 300,000 draws), and no long run of one character or
of neighbours ("aaaaaa", "abcdef") — `aaaaaaaaaaaaaaaa` or a name typed twice is refused.
"""
from __future__ import annotations

import re
import secrets

LOCAL_WORKSPACE = "local"  # the one workspace of a personal machine (no keys there)
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
MIN_DISTINCT = 12
MAX_RUN = 5  # equal or consecutive characters in a row; random keys: about 1 in 10⁷ have 6


def new_key() -> str:
    while True:
        key = secrets.token_urlsafe(18)
        if is_key(key):
            return key


def is_key(key: str | None) -> bool:
    """Whether `key` is as hard to guess as a generated key."""
    if not key or not KEY_RE.match(key) or len(set(key)) < MIN_DISTINCT:
        return False
    return _longest_run(key) <= MAX_RUN


def _longest_run(key: str) -> int:
    """The longest stretch whose characters repeat or step by one ("aaaa", "abcd", "4321")."""
    longest, run, step = 1, 1, None
    for a, b in zip(key, key[1:]):
        d = ord(b) - ord(a)
        if abs(d) <= 1 and (run == 1 or d == step):
            run, step = run + 1, d
        elif abs(d) <= 1:
            run, step = 2, d
        else:
            run, step = 1, None
        longest = max(longest, run)
    return longest
