"""Server-side SVG charts of a daily series, for the dashboard to embed: no JavaScript, no
library in the browser. Pure functions: a series in, an accessible SVG document out."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
INK = "#1f2937"
"""Text and axes: 14.7:1 on white."""
LINE = "#1d4ed8"
"""Series: 6.7:1 on white (WCAG AA for graphics and text alike)."""
GRID = "#6b7280"


@dataclass(frozen=True)
class Point:
    day: date
    value: int


def _ticks(top: int) -> list[int]:
    """Up to five round values 0 … top for the y axis."""
    if top <= 0:
        return [0]
    step = max(1, -(-top // 4))
    return list(range(0, top + step, step))


def _open(chart_id: str, title: str, description: str) -> list[str]:
    ident = quoteattr(f"{chart_id}-title {chart_id}-desc")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby={ident} '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'font-family="sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]


Label = Callable[[int], str]
"""How a value is written on the chart (ticks, point titles, description): `str` by default,
money for amounts in cents."""


def _describe(points: Sequence[Point], unit: str, label: Label = str) -> str:
    if not points:
        return "No data for this period."
    peak = max(points, key=lambda p: p.value)
    total = sum(p.value for p in points)
    return (
        f"{len(points)} days from {points[0].day.isoformat()} to {points[-1].day.isoformat()}; "
        f"total {label(total)} {unit}; highest {label(peak.value)} {unit} on "
        f"{peak.day.isoformat()}."
    )


def _axes(
    points: Sequence[Point], x_label: str, y_label: str, label: Label = str
) -> tuple[list[str], int]:
    """The axes, their labels and the y grid; the y axis' top value."""
    top = max((p.value for p in points), default=0)
    ticks = _ticks(top)
    scale_top = ticks[-1] or 1
    plot_height = HEIGHT - TOP - BOTTOM
    parts = [
        f'<g stroke="{INK}" stroke-width="1">'
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/></g>'
    ]
    for tick in ticks:
        y = HEIGHT - BOTTOM - plot_height * tick / scale_top
        parts.append(
            f'<text class="y-tick" x="{LEFT - 6}" y="{y:.1f}" text-anchor="end" '
            f'dominant-baseline="middle" fill="{INK}">{escape(label(tick))}</text>'
        )
    if points:
        for point, anchor in ((points[0], "start"), (points[-1], "end")):
            x = LEFT if anchor == "start" else WIDTH - RIGHT
            parts.append(
                f'<text class="x-tick" x="{x}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="{anchor}" fill="{INK}">{point.day.isoformat()}</text>'
            )
    parts.append(
        f'<text class="x-label" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" '
        f'text-anchor="middle" fill="{INK}">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text class="y-label" x="14" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2})" fill="{INK}">'
        f"{escape(y_label)}</text>"
    )
    return parts, scale_top


def _empty(parts: list[str]) -> str:
    parts.append(
        f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
        f'fill="{INK}">No data for this period</text></svg>'
    )
    return "".join(parts)


def _y(value: int, scale_top: int) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * value / scale_top


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    y_label: str,
    x_label: str = "Day",
    chart_id: str = "chart",
    unit: str = "",
    label: Label = str,
) -> str:
    """A line through one point per day, oldest on the left; each point a circle with its
    `<title>` (day and value) for hover and screen readers."""
    parts = _open(chart_id, title, _describe(points, unit, label))
    axes, scale_top = _axes(points, x_label, y_label, label)
    parts.extend(axes)
    if not points:
        return _empty(parts)
    span = WIDTH - LEFT - RIGHT
    step = span / max(len(points) - 1, 1)
    coords = [
        (LEFT + (n * step if len(points) > 1 else span / 2), _y(p.value, scale_top))
        for n, p in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(
        f'<polyline class="series" fill="none" stroke="{LINE}" stroke-width="2" points="{path}"/>'
    )
    for (x, y), point in zip(coords, points, strict=True):
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE}">'
            f"<title>{point.day.isoformat()}: {escape(label(point.value))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    points: Sequence[Point],
    *,
    title: str,
    y_label: str,
    x_label: str = "Day",
    chart_id: str = "chart",
    unit: str = "",
    label: Label = str,
) -> str:
    """One bar per day, oldest on the left, each with its `<title>` (day and value)."""
    parts = _open(chart_id, title, _describe(points, unit, label))
    axes, scale_top = _axes(points, x_label, y_label, label)
    parts.extend(axes)
    if not points:
        return _empty(parts)
    slot = (WIDTH - LEFT - RIGHT) / len(points)
    width = max(slot * 0.8, 1.0)
    for n, point in enumerate(points):
        y = _y(point.value, scale_top)
        parts.append(
            f'<rect class="bar" x="{LEFT + n * slot + (slot - width) / 2:.1f}" y="{y:.1f}" '
            f'width="{width:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" fill="{LINE}">'
            f"<title>{point.day.isoformat()}: {escape(label(point.value))}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)
