"""Resource data on one line: the one escaping function for text that reaches a commit
message, a terminal, Markdown or a report line.

Tag values, names and descriptions come from whoever can tag a resource. Written raw, a
newline (or ``\\r``, U+2028, U+2029, U+0085, a form feed...) would start a new line of
their choosing: a forged ``Driftaudit-Failed:`` trailer in a commit message, a fake finding in
a report. Every such character, and every other control character, is shown escaped
(``\\n``, ``\\u2028``), so the data stays visible and stays on its line.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and every character Unicode or a terminal treats as a line or
# paragraph break, plus bidirectional overrides that could reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    """``text`` with every control, line-separator and bidi-override character escaped
    visibly; anything else (other Unicode included) is kept as it is."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)
