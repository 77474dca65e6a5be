"""Server-side SVG: a bar per funder line (drawn / available), budget gauges, and a programme's
beneficiaries and drawn amount over time. No script, no chart library; each figure carries a
text alternative (``role="img"`` with ``aria-label``) and its numbers are in the page's tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH = 1100
DRAWN, AVAILABLE, OVER, TRACK = "#1f5fa8", "#9cc3e6", "#c0392b", "#e8ecf1"


@dataclass(frozen=True)
class BarLine:
    label: str
    limit_minor: int
    drawn_minor: int
    limit_text: str
    drawn_text: str
    available_text: str


def availability_bars(lines: Sequence[BarLine]) -> Markup:
    """One bar per line on a common scale: drawn (dark), available (light), above limit (red)."""
    scale = max([max(ln.limit_minor, ln.drawn_minor) for ln in lines] + [1])
    label_w, bar_w, row_h = 230, WIDTH - 240, 38
    height = row_h * max(1, len(lines)) + 4
    parts = [
        f'<svg class="bars" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(_bars_summary(lines))}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, line in enumerate(lines):
        y = 4 + i * row_h
        drawn = min(line.drawn_minor, line.limit_minor)
        over = max(0, line.drawn_minor - line.limit_minor)
        available = max(0, line.limit_minor - line.drawn_minor)
        x: float = label_w
        parts.append(f'<text x="0" y="{y + 15}" class="bar-label">{escape(_clip(line.label, 28))}</text>')
        parts.append(f'<rect x="{x}" y="{y}" width="{bar_w}" height="18" fill="{TRACK}"/>')
        for value, colour, what in ((drawn, DRAWN, "drawn"), (available, AVAILABLE, "available"), (over, OVER, "over")):
            w = bar_w * value / scale
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}" '
                    f'class="seg-{what}"><title>{escape(what)}</title></rect>'
                )
            x += w
        parts.append(
            f'<text x="{label_w}" y="{y + 31}" class="bar-note">'
            f"{escape(f'drawn {line.drawn_text} · available {line.available_text} · limit {line.limit_text}')}"
            "</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _bars_summary(lines: Sequence[BarLine]) -> str:
    return (
        "; ".join(
            f"{ln.label}: drawn {ln.drawn_text} of {ln.limit_text}, available {ln.available_text}" for ln in lines
        )
        or "no line"
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def gauge(label: str, used: int, maximum: int | None, used_text: str, max_text: str) -> Markup:
    """A horizontal gauge ``used / maximum``; without a maximum, just the figure."""
    h = 40
    if maximum is None:
        caption = f"{label}: {used_text} (no budget)"
        share = 0.0
    else:
        share = used / maximum if maximum else (1.0 if used else 0.0)  # nothing of nothing: empty, not full
        caption = f"{label}: {used_text} of {max_text} ({share:.0%})"
    colour = OVER if share >= 1 else "#d68910" if share >= 0.85 else DRAWN
    w = (WIDTH - 2) * min(share, 1.0)
    return Markup(
        f'<svg class="gauge" viewBox="0 0 {WIDTH} {h}" width="100%" role="img" aria-label="{escape(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg"><text x="0" y="13" class="bar-label">{escape(caption)}</text>'
        f'<rect x="0" y="20" width="{WIDTH - 2}" height="16" fill="{TRACK}"/>'
        f'<rect x="0" y="20" width="{w:.1f}" height="16" fill="{colour}"/></svg>'
    )


def series(
    title: str,
    points: Sequence[tuple[date, int]],
    *,
    value_text: Callable[[int], str],
    day_text: Callable[[date], str],
    colour: str = DRAWN,
) -> Markup:
    """A line over days, from 0 to the largest value, with the first and last day marked."""
    h, left, bottom, top = 170, 120, 22, 22
    plot_w, plot_h = WIDTH - left - 10, h - top - bottom
    peak = max([v for _, v in points] + [1])
    n = max(1, len(points) - 1)
    coords = " ".join(
        f"{left + plot_w * i / n:.1f},{top + plot_h * (1 - v / peak):.1f}" for i, (_, v) in enumerate(points)
    )
    last = points[-1] if points else None
    caption = (
        title if last is None else f"{title}: {value_text(last[1])} on {day_text(last[0])}, peak {value_text(peak)}"
    )
    parts = [
        f'<svg class="series" viewBox="0 0 {WIDTH} {h}" width="100%" role="img" aria-label="{escape(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="14" class="bar-label">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" class="axis">{escape(value_text(peak))}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="axis">{escape(value_text(0))}</text>',
    ]
    if points:
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        parts.append(f'<text x="{left}" y="{h - 4}" class="axis">{escape(day_text(points[0][0]))}</text>')
        parts.append(
            f'<text x="{left + plot_w}" y="{h - 4}" text-anchor="end" class="axis">'
            f"{escape(day_text(points[-1][0]))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


AGEING_COLOURS = ("#9cc3e6", "#f1c40f", "#e67e22", "#d35400", "#c0392b")  # not due … over 90 days


@dataclass(frozen=True)
class StackedBar:
    label: str
    parts_minor: tuple[int, ...]  # one amount per segment, in the order of the colours
    note: str


def stacked_bars(bars: Sequence[StackedBar], names: Sequence[str]) -> Markup:
    """One stacked bar per row on a common scale (e.g. outstanding by days overdue), segment i in
    ``AGEING_COLOURS[i]`` with ``names[i]`` as its title; the numbers are in the page's table."""
    scale = max([sum(bar.parts_minor) for bar in bars] + [1])
    label_w, bar_w, row_h = 230, WIDTH - 240, 38
    height = row_h * max(1, len(bars)) + 4
    summary = "; ".join(f"{bar.label}: {bar.note}" for bar in bars[:20])
    parts = [
        f'<svg class="bars" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * row_h
        x: float = label_w
        parts.append(f'<text x="0" y="{y + 15}" class="bar-label">{escape(_clip(bar.label, 28))}</text>')
        parts.append(f'<rect x="{x}" y="{y}" width="{bar_w}" height="18" fill="{TRACK}"/>')
        for value, colour, name in zip(bar.parts_minor, AGEING_COLOURS, names, strict=False):
            w = bar_w * value / scale
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}" '
                    f'class="seg-{escape(name)}"><title>{escape(name)}</title></rect>'
                )
            x += w
        parts.append(f'<text x="{label_w}" y="{y + 31}" class="bar-note">{escape(bar.note)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
