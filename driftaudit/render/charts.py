"""Inline SVG pictures for the HTML report and history pages (pure: data in, markup out).

Built to survive mail clients: no JavaScript, no external assets, no ``<style>`` element,
only presentation attributes; text labels and a legend in the picture, a ``<title>`` and
``<desc>`` for screen readers. Coordinates are rounded to one decimal and every order is
fixed, so the same data always gives the same bytes (nothing here reads the clock).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape

from driftaudit.change.differ import SEVERITIES

COLORS = {
    "critical": "#b00020",
    "high": "#e65100",
    "medium": "#b8860b",
    "low": "#1565c0",
    "info": "#607d8b",
}
#: A day with a run and no change: a short mark on the axis. A day without a run: a pale,
#: dashed column over the whole plot, so a gap never reads as a quiet day.
QUIET = "#2e7d32"
NO_RUN = 'fill="#f2f2f2" stroke="#9e9e9e" stroke-width="1" stroke-dasharray="3,2"'
FONT = 'font-family="Arial,Helvetica,sans-serif"'
MOST_SEVERE_FIRST = tuple(reversed(SEVERITIES))
WIDTH = 720


def _n(value: float) -> str:
    """A coordinate: one decimal at most, no trailing zeros (stable bytes)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _nice_step(top: int, ticks: int = 4) -> int:
    """A 1, 2 or 5 times a power of ten step giving at most ``ticks`` grid lines."""
    raw = max(1.0, top / ticks)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return int(m * power)
    return int(10 * power)


def _open(width: int, height: int, uid: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" {FONT} font-size="11">',
        f'<title id="{uid}-title">{_t(title)}</title>',
        f'<desc id="{uid}-desc">{_t(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(x: float, y: float, items: list[tuple[str, str, float]]) -> list[str]:
    """Swatches with labels, left to right: (label, colour, opacity); a colour that is a
    set of attributes (``fill="…" stroke="…"``) is used as it is."""
    out = []
    for label, color, opacity in items:
        alpha = "" if opacity == 1 else f' fill-opacity="{_n(opacity)}"'
        paint = color if "=" in color else f'fill="{color}"'
        out.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" {paint}{alpha}/>')
        out.append(f'<text x="{_n(x + 14)}" y="{_n(y)}" fill="#333333">{_t(label)}</text>')
        x += 26 + 7 * len(label)
    return out


def day_chart(days: list[dict[str, object]], uid: str = "days") -> str:
    """Changes per day as bars stacked by severity (most severe at the bottom), with the
    total above each bar, dates below, a grid with counts and a legend; "" without days.

    Days with ``runs`` (see :func:`rangediff.daily`) tell a quiet day (a run, no change: a
    short mark on the axis) from a day without a run (a pale dashed column: nothing is
    known of it); days without ``runs`` (a template's own data) are drawn as before."""
    if not days:
        return ""
    left, right, top, plot_h = 44.0, 12.0, 18.0, 150.0
    plot_w = WIDTH - left - right
    bottom = top + plot_h
    height = int(bottom + 50)
    n = len(days)
    slot = plot_w / n
    bar = max(1.0, min(36.0, slot * 0.7))
    peak = max(int(str(d["total"])) for d in days)
    step = _nice_step(peak)
    ceiling = max(step, math.ceil(peak / step) * step)
    scale = plot_h / ceiling
    first, last = days[0]["date"], days[-1]["date"]
    total = sum(int(str(d["total"])) for d in days)
    present = [s for s in MOST_SEVERE_FIRST if any(s in _sev(d) for d in days)]
    desc = "; ".join(f"{d['date']}: {_day_text(d)}" for d in days)
    out = _open(
        WIDTH,
        height,
        uid,
        f"Changes per day by severity, {first} to {last} ({total} in all)",
        desc,
    )
    for value in range(0, ceiling + 1, step):
        y = bottom - value * scale
        out.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(WIDTH - right)}" y2="{_n(y)}" '
            f'stroke="#e0e0e0" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="#555555">'
            f"{value}</text>"
        )
    every = max(1, math.ceil(n / (plot_w / 46)))
    for i, d in enumerate(days):
        cx = left + slot * (i + 0.5)
        x = cx - bar / 2
        y = bottom
        if d.get("runs") == 0:
            out.append(
                f'<rect x="{_n(x)}" y="{_n(top)}" width="{_n(bar)}" height="{_n(plot_h)}" '
                f"{NO_RUN}><title>{_t(d['date'])}: no run</title></rect>"
            )
        elif not d["total"] and d.get("runs"):
            out.append(
                f'<rect x="{_n(x)}" y="{_n(bottom - 4)}" width="{_n(bar)}" height="4" '
                f'fill="{QUIET}"><title>{_t(d["date"])}: ran, no changes</title></rect>'
            )
        for severity, count in _sev(d).items():
            h = count * scale
            y -= h
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(h)}" '
                f'fill="{COLORS[severity]}"><title>{_t(d["date"])}: {count} {severity}'
                "</title></rect>"
            )
        if d["total"] and bar >= 10:
            out.append(
                f'<text x="{_n(cx)}" y="{_n(y - 4)}" text-anchor="middle" fill="#222222">'
                f"{d['total']}</text>"
            )
        if i % every == 0:
            out.append(
                f'<text x="{_n(cx)}" y="{_n(bottom + 16)}" text-anchor="middle" '
                f'fill="#555555">{_t(str(d["date"])[5:])}</text>'
            )
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(WIDTH - right)}" y2="{_n(bottom)}" '
        f'stroke="#888888" stroke-width="1"/>'
    )
    items = [(s, COLORS[s], 1.0) for s in present]
    if any(not d["total"] and d.get("runs") for d in days):
        items.append(("ran, no changes", QUIET, 1.0))
    if any(d.get("runs") == 0 for d in days):
        items.append(("no run", NO_RUN, 1.0))
    out += _legend(left, bottom + 40, items or [("no changes", "#e0e0e0", 1.0)])
    out.append("</svg>")
    return "\n".join(out)


def _day_text(day: dict[str, object]) -> str:
    if day.get("runs") == 0:
        return "no run"
    if not day["total"]:
        return "no changes"
    return ", ".join(f"{c} {s}" for s, c in _sev(day).items())


def _sev(day: dict[str, object]) -> dict[str, int]:
    """The day's counts, most severe first (the order the bars stack from the bottom)."""
    counts = day.get("by_severity") or {}
    assert isinstance(counts, dict)
    return {s: int(counts[s]) for s in MOST_SEVERE_FIRST if counts.get(s)}


# --- timelines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One row of a timeline: known from ``first_with`` to ``last_with``; it began somewhere
    after ``last_without`` (None: already so at the first snapshot) and ended before
    ``first_without`` (None: still so at the last snapshot). Times are epoch seconds."""

    label: str
    color: str
    last_without: int | None
    first_with: int
    last_with: int
    first_without: int | None


def _ticks(lo: int, hi: int) -> list[int]:
    """UTC midnights every 1, 2, 7, 14, 30... days, at most ten of them."""
    span = hi - lo
    for days in (1, 2, 7, 14, 30, 60, 91, 182, 365, 730, 1825):
        if span / (days * 86400) <= 10:
            break
    first = math.ceil(lo / 86400 / days) * days
    return [d * 86400 for d in range(first, int(hi // 86400) + 1, days)]


def _date(epoch: int, year: bool) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d" if year else "%m-%d")


def timeline(bars: list[Bar], start: int, end: int, title: str, uid: str = "timeline") -> str:
    """Rows of bars on one time axis from ``start`` to ``end`` (the first and the last
    snapshot): solid where the snapshots show it, pale between the two snapshots a change
    lies between; a bar touching an edge was already so at the first snapshot, or still is
    at the last."""
    left, right, top, row = 12.0, 12.0, 8.0, 36.0
    plot_w = WIDTH - left - right
    if end <= start:
        start, end = start - 43200, end + 43200
    scale = plot_w / (end - start)

    def x(t: int) -> float:
        return left + (t - start) * scale

    body = top + row * max(1, len(bars))
    height = int(body + 48)
    desc = "; ".join(
        f"{b.label}: from {_iso(b.first_with)}"
        + (" (or earlier)" if b.last_without is None else f" (after {_iso(b.last_without)})")
        + (
            f" until {_iso(b.last_with)} (still so)"
            if b.first_without is None
            else f" until {_iso(b.last_with)} (gone by {_iso(b.first_without)})"
        )
        for b in bars
    )
    out = _open(WIDTH, height, uid, title, desc or "nothing to show")
    year = end - start > 300 * 86400
    for tick in _ticks(start, end):
        out.append(
            f'<line x1="{_n(x(tick))}" y1="{_n(top)}" x2="{_n(x(tick))}" y2="{_n(body)}" '
            f'stroke="#e8e8e8" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{_n(x(tick))}" y="{_n(body + 14)}" text-anchor="middle" '
            f'fill="#555555">{_date(tick, year)}</text>'
        )
    if not bars:
        out.append(f'<text x="{_n(left)}" y="{_n(top + 20)}" fill="#555555">nothing found</text>')
    for i, b in enumerate(bars):
        y = top + row * i
        label = b.label if len(b.label) <= 100 else b.label[:99] + "\u2026"
        if b.last_without is None:
            label += "  (since the first snapshot or earlier)"
        if b.first_without is None:
            label += "  (still so)"
        out.append(f'<text x="{_n(left)}" y="{_n(y + 12)}" fill="#222222">{_t(label)}</text>')
        lo = x(b.first_with)
        hi = max(x(b.last_with), lo + 3)
        if b.last_without is not None:
            out.append(_bar(x(b.last_without), lo, y + 17, b.color, 0.3))
        out.append(_bar(lo, hi, y + 17, b.color, 1.0))
        if b.first_without is not None:
            out.append(_bar(hi, x(b.first_without), y + 17, b.color, 0.3))
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(body)}" x2="{_n(WIDTH - right)}" y2="{_n(body)}" '
        f'stroke="#888888" stroke-width="1"/>'
    )
    out += _legend(
        left,
        body + 38,
        [
            ("seen in the snapshots", "#555555", 1.0),
            ("changed somewhere between two snapshots", "#555555", 0.3),
        ],
    )
    out.append("</svg>")
    return "\n".join(out)


def _bar(x0: float, x1: float, y: float, color: str, opacity: float) -> str:
    alpha = "" if opacity == 1 else f' fill-opacity="{_n(opacity)}"'
    return (
        f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(max(0.0, x1 - x0))}" height="12" '
        f'fill="{color}"{alpha}/>'
    )


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
