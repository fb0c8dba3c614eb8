"""README.md read as a manual, for the tests that keep it true: its sections (headings
outside fenced blocks), their tables, code (fenced blocks and inline spans) and the command
lines in that code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6}) +(.*?) *#*$")
_SPAN = re.compile(r"(`+)(.+?)\1")
#: ``driftaudit WORD [WORD]`` where a shell command starts: a line, or after ``$``, ``&&``,
#: ``|``, ``;``, ``(`` or leading ``NAME=value`` assignments. Prose such as "driftaudit would
#: write" inside a quoted message is not a command.
_COMMAND = re.compile(
    r"(?:^\s*|[$&|;(]\s*|^(?:\w+=\S*\s+)+)driftaudit ([a-z][\w-]*)(?: ([a-z][\w-]*))?"
)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it
    text: str
    in_fence: bool


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    heading: int  # line number of the heading
    lines: tuple[Line, ...]  # up to the next heading of this level or higher: subsections too

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def lines(text: str = README) -> list[Line]:
    out, fence = [], ""
    for number, line in enumerate(text.splitlines(), 1):
        m = _FENCE.match(line)
        if not fence and m:
            fence = m.group(1)
            out.append(Line(number, line, True))
            continue
        closing = line.strip()
        if fence and closing and set(closing) == {fence[0]} and len(closing) >= len(fence):
            fence = ""
            out.append(Line(number, line, True))
            continue
        out.append(Line(number, line, bool(fence)))
    return out


def sections(text: str = README) -> list[Section]:
    all_lines = lines(text)
    heads = [
        (i, len(m.group(1)), m.group(2))
        for i, line in enumerate(all_lines)
        if not line.in_fence and (m := _HEADING.match(line.text))
    ]
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(all_lines))
        out.append(Section(level, title, all_lines[i].number, tuple(all_lines[i + 1 : end])))
    return out


def section(pattern: str, text: str = README) -> Section:
    """The one section whose title matches ``pattern`` (a regex, case-insensitive)."""
    found = [s for s in sections(text) if re.search(pattern, s.title, re.IGNORECASE)]
    assert len(found) == 1, f"README: {len(found)} sections titled like {pattern!r}"
    return found[0]


def section_of(number: int, text: str = README) -> Section:
    """The innermost section holding line ``number``."""
    return max((s for s in sections(text) if s.heading <= number), key=lambda s: s.heading)


def table(section: Section) -> list[list[str]]:
    """The first table of a section: rows of cells, header first, the ``---`` row left out."""
    rows = []
    for line in section.lines:
        if line.in_fence or not line.text.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.text.strip())[1:-1]]
        if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
            rows.append(cells)
    return rows


def code(text: str = README) -> Iterator[Line]:
    """Every line of a fenced block (fences left out) and every inline code span."""
    for line in lines(text):
        if line.in_fence:
            if not _FENCE.match(line.text):
                yield line
        else:
            for _, span in _SPAN.findall(line.text):
                yield Line(line.number, span, False)


def commands(text: str = README) -> Iterator[tuple[int, str, str | None]]:
    """(line number, command, next word) of each ``driftaudit COMMAND`` the code runs."""
    for line in code(text):
        for m in _COMMAND.finditer(line.text):
            yield line.number, m.group(1), m.group(2)
