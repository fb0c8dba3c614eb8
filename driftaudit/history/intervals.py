"""Pure interval arithmetic on sample numbers: every window of the history is an inclusive
range of samples ``(first, last)``, and answers are unions, differences and intersections of
them."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[int, int]  # inclusive sample numbers


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, with adjacent samples merged (``[1,3] + [4,5] = [1,5]``)."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(base: list[Interval], cut: list[Interval]) -> list[Interval]:
    """Samples of ``base`` outside ``cut`` (both sorted and disjoint)."""
    out: list[Interval] = []
    for a, b in base:
        start = a
        for c, d in cut:
            if d < start or c > b:
                continue
            if c > start:
                out.append((start, c - 1))
            start = max(start, d + 1)
        if start <= b:
            out.append((start, b))
    return out


def intersect(one: Iterable[Interval], other: Iterable[Interval]) -> list[Interval]:
    """Samples in both (any intervals in, sorted disjoint out)."""
    others = union(other)
    return union(
        (max(a, c), min(b, d)) for a, b in union(one) for c, d in others if max(a, c) <= min(b, d)
    )


def overlaps(intervals: Iterable[Interval], a: int, b: int) -> bool:
    return any(x <= b and y >= a for x, y in intervals)
