"""Chart geometry for the report: plain numbers the SVG templates draw.

Why server-side SVG: the report must open offline, mailed as one file, and stay
small with 100k contacts. A chart here is a few dozen shapes computed once in
Python; the template (``charts.html.j2``) turns them into SVG elements with
autoescaped text, so no script library is inlined and a chart shows even with
scripts blocked. Every chart has a table next to it with the same numbers.

Colours: the Okabe-Ito palette (safe for the common colour-vision
deficiencies) and a single-hue blue scale for the heat map, with the text
colour switched to keep contrast on dark cells.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#8C6D1F",
    "#000000",
    "#999999",
    "#F0E442",
)
ABC_COLOURS = {"A": "#0B4F8A", "B": "#4A90C8", "C": "#A9C6E0"}
STAGE_COLOURS = {
    "prospect": "#9AA5B1",
    "new": "#56B4E9",
    "active": "#0072B2",
    "repeat": "#0B4F8A",
    "loyal": "#009E73",
    "reactivated": "#CC79A7",
    "at_risk": "#E69F00",
    "inactive": "#D55E00",
}
#: Light to dark blue, for the heat map.
BLUES = ("#F3F8FC", "#DCEAF6", "#BDD7EE", "#94BFE2", "#6AA3D3", "#3F83BF", "#21629E", "#0F437A")


def single(colour: str, labels: list[str]) -> dict[str, str]:
    """One colour for every bar: the values of a family are not categories to tell apart."""
    return dict.fromkeys(labels, colour)


@dataclass
class Bar:
    label: str
    value: float
    text: str
    x: float
    y: float
    width: float
    colour: str


@dataclass
class BarChart:
    """Horizontal bars, one per label, longest scale = the largest value."""

    title: str
    width: int
    height: int
    label_width: int
    bars: list[Bar] = field(default_factory=list)
    bar_height: int = 22


def bar_chart(
    title: str,
    items: list[tuple[str, float, str]],
    colours: dict[str, str] | None = None,
    width: int = 520,
) -> BarChart:
    label_width = min(190, 12 + 7 * max((len(label) for label, _, _ in items), default=4))
    step, bar_height = 30, 22
    chart = BarChart(title, width, 10 + step * max(1, len(items)), label_width)
    room = width - label_width - 90
    top = max((value for _, value, _ in items), default=0) or 1
    for i, (label, value, text) in enumerate(items):
        colour = (colours or {}).get(label, PALETTE[i % len(PALETTE)] if not colours else "#0072B2")
        chart.bars.append(
            Bar(
                label,
                value,
                text,
                label_width,
                6 + i * step,
                max(1.0, room * value / top) if value > 0 else 0.0,
                colour,
            )
        )
    chart.bar_height = bar_height
    return chart


@dataclass
class Line:
    label: str
    colour: str
    points: str
    last_x: float
    last_y: float
    dots: list[tuple[float, float, str]]


@dataclass
class LineChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    lines: list[Line]
    guides: list[tuple[float, str]] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""


def nice_ticks(value: float) -> list[float]:
    """Round tick values from 0 to at least ``value``: steps of 1, 2 or 5 times a power
    of ten, at most five of them."""
    if value <= 0:
        return [0.0, 1.0]
    step = 1.0
    while value / step > 5:
        for factor in (2, 2.5, 2):
            step *= factor
            if value / step <= 5:
                break
    top = step * -(-value // step)
    return [step * i for i in range(round(top / step) + 1)]


def _spread(ys: list[float], gap: float) -> list[float]:
    """Move label positions apart (keeping their order) so none overlaps the next."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    for prev, cur in itertools.pairwise(order):
        out[cur] = max(out[cur], out[prev] + gap)
    return out


def pareto_chart(points: list[list[float]], a: float, ab: float) -> LineChart:
    """Cumulative revenue share (y) over customer share (x), with the class lines."""
    width, height, left, top = 560, 340, 56, 18
    pw, ph = width - left - 20, height - top - 46

    def at(x: float, y: float) -> tuple[float, float]:
        return round(left + pw * x / 100, 1), round(top + ph * (1 - y / 100), 1)

    coords = [at(x, y) for x, y in points]
    ticks = [0, 20, 40, 60, 80, 100]
    dots = []
    for share in (a, ab):
        hit = next((p for p in points if p[1] >= share), None)
        if hit:
            x, y = at(*hit)
            dots.append((x, y, f"{hit[0]:g} % of customers give {share:g} % of revenue"))
    line = Line(
        "cumulative revenue share",
        "#0072B2",
        " ".join(f"{x},{y}" for x, y in coords),
        coords[-1][0],
        coords[-1][1],
        dots,
    )
    return LineChart(
        "Pareto curve",
        width,
        height,
        left,
        top,
        pw,
        ph,
        [(at(t, 0)[0], f"{t} %") for t in ticks],
        [(at(0, t)[1], f"{t} %") for t in ticks],
        [line],
        [(at(0, share)[1], f"{share:g} %") for share in (a, ab)],
        "share of customers, best first",
        "share of revenue",
    )


#: A history chart draws at most this many values (the largest now).
HISTORY_SERIES = 10


def history_chart(
    title: str,
    runs: list[str],
    series: dict[str, list[int]],
    colours: dict[str, str] | None = None,
) -> LineChart:
    """Contacts per value, run by run (one line per value)."""
    width, height, left, top = 560, 260, 56, 14
    pw, ph = width - left - 150, height - top - 46
    chosen = sorted(series.items(), key=lambda kv: (-kv[1][-1], kv[0]))[:HISTORY_SERIES]
    ticks = nice_ticks(max((max(v) for _, v in chosen if v), default=0))
    top_value = ticks[-1]
    n = len(runs)

    def at(i: int, value: float) -> tuple[float, float]:
        x = left + (pw * i / (n - 1) if n > 1 else pw / 2)
        return round(x, 1), round(top + ph * (1 - value / top_value), 1)

    lines = []
    for k, (label, values) in enumerate(chosen):
        coords = [at(i, v) for i, v in enumerate(values)]
        lines.append(
            Line(
                label,
                (colours or {}).get(label, PALETTE[k % len(PALETTE)]),
                " ".join(f"{x},{y}" for x, y in coords),
                coords[-1][0],
                coords[-1][1],
                [(x, y, f"{label}: {v}") for (x, y), v in zip(coords, values, strict=True)],
            )
        )
    for line, y in zip(lines, _spread([ln.last_y for ln in lines], 13), strict=True):
        line.last_y = y
    every = max(1, -(-n // 6))
    x_ticks = [(at(i, 0)[0], runs[i]) for i in range(0, n, every)]
    y_ticks = [(at(0, t)[1], f"{int(t):,}") for t in ticks]
    return LineChart(title, width, height, left, top, pw, ph, x_ticks, y_ticks, lines)


@dataclass
class HeatCell:
    x: float
    y: float
    size: float
    fill: str
    ink: str
    segment: str
    #: The segment name in lines short enough for the cell.
    lines: list[str]
    count: str
    revenue: str
    r: int
    f: int


@dataclass
class HeatMap:
    title: str
    width: int
    height: int
    cells: list[HeatCell]
    left: int
    top: int
    cell: float


def heat_map(grid: list[dict[str, Any]], revenue_text: dict[tuple[int, int], str]) -> HeatMap:
    """The 5x5 RFM grid: rows R 5..1, columns F 1..5, shade by customers."""
    left, top, cell = 46, 16, 112.0
    top_count = max((c["customers"] for c in grid), default=0) or 1
    cells = []
    for c in grid:
        level = 0 if c["customers"] == 0 else 1 + int((len(BLUES) - 2) * c["customers"] / top_count)
        fill = BLUES[min(level, len(BLUES) - 1)]
        cells.append(
            HeatCell(
                left + (c["f"] - 1) * cell,
                top + (5 - c["r"]) * cell,
                cell - 3,
                fill,
                "#FFFFFF" if level >= 5 else "#102A43",
                c["segment"].replace("_", " "),
                c["segment"].split("_")
                if len(c["segment"]) > 14
                else [c["segment"].replace("_", " ")],
                f"{c['customers']:,}",
                revenue_text[(c["r"], c["f"])],
                c["r"],
                c["f"],
            )
        )
    return HeatMap(
        "RFM grid", int(left + 5 * cell + 10), int(top + 5 * cell + 40), cells, left, top, cell
    )
