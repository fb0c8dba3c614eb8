"""Markdown that resource data cannot break out of (pure).

Names, tags and descriptions are written by whoever can tag a resource, and the Markdown
outputs (``check``, ``diff``, ``report``) go to job summaries and pull-request comments. So
data is only ever put in three places, each on one line (:func:`one_line`):

* a code span (:func:`code_span`) or a fenced block whose fence (:func:`fence`) is longer than
  any backtick run inside it: nothing inside is Markdown, so nothing can close it early;
* a table cell (:func:`cell`), where every character Markdown would read as syntax (``|``,
  ``<``, backticks, ``[``, ``*``...) is backslash-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from driftaudit.textsafe import one_line

_BACKTICKS = re.compile("`+")
# ASCII punctuation that starts inline syntax in CommonMark/GFM (emphasis, code, links,
# autolinks and HTML, entities, strikethrough) or ends a table cell.
_INLINE_SYNTAX = re.compile(r"([\\`*_\[\]<>|~&!#])")


def longest_backtick_run(texts: Iterable[str]) -> int:
    return max((len(m) for t in texts for m in _BACKTICKS.findall(t)), default=0)


def fence(lines: Iterable[str]) -> str:
    """The backtick fence for a block holding ``lines``: at least three, and one more than
    the longest run inside, so no line can close it (CommonMark: a closing fence is at
    least as long as the opening one)."""
    return "`" * max(3, longest_backtick_run(lines) + 1)


def code_span(text: str) -> str:
    """``text`` as one inline code span, delimited by one backtick more than its longest run."""
    text = one_line(text)
    ticks = "`" * (longest_backtick_run([text]) + 1)
    # CommonMark strips one space from each end of a span's content when both are spaces,
    # and a backtick next to the delimiter would join it: pad in those cases.
    pad = text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip())
    space = " " if pad else ""
    return f"{ticks}{space}{text}{space}{ticks}"


def cell(text: str) -> str:
    """``text`` as the literal content of a table cell (or any inline position)."""
    return _INLINE_SYNTAX.sub(r"\\\1", one_line(text))
