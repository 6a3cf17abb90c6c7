"""Bar charts as SVG geometry, computed here so the templates only draw rectangles and labels.

Bars are stacked by series (a customer's sensors); each bar's figures are also in the table the
template prints below the chart, so nothing is only pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 760
HEIGHT = 220
_TOP, _BOTTOM, _LEFT, _RIGHT = 12, 28, 56, 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[Label] = field(default_factory=list)
    y_labels: list[Label] = field(default_factory=list)
    gridlines: list[float] = field(default_factory=list)
    empty: bool = True


def stacked_bars(
    title: str,
    labels: list[str],
    series: list[tuple[str, list[Decimal | None]]],
    *,
    unit: str = "kWh",
    label_every: int = 1,
) -> Chart:
    """One bar per label, each series stacked on the ones before it."""
    chart = Chart(title)
    totals = [sum((values[i] or Decimal(0) for _, values in series), Decimal(0)) for i in range(len(labels))]
    top = max(totals, default=Decimal(0))
    chart.empty = top <= 0
    scale_top = _nice_ceiling(top) if top > 0 else Decimal(1)
    plot_height = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(1, len(labels))
    bar_width = max(1.0, slot * 0.72)
    for step in range(5):
        value = scale_top * step / 4
        y = _TOP + plot_height * (1 - float(value / scale_top))
        chart.gridlines.append(round(y, 1))
        chart.y_labels.append(Label(_LEFT - 6, round(y + 4, 1), f"{value.normalize():f}"))
    for index, label in enumerate(labels):
        x = _LEFT + slot * index + (slot - bar_width) / 2
        base = Decimal(0)
        for number, (name, values) in enumerate(series):
            amount = values[index]
            if not amount:
                continue
            y0 = plot_height * float(base / scale_top)
            h = plot_height * float(amount / scale_top)
            chart.bars.append(
                Bar(
                    round(x, 1),
                    round(_TOP + plot_height - y0 - h, 1),
                    round(bar_width, 1),
                    round(h, 1),
                    number,
                    f"{label} {name}: {amount} {unit}",
                )
            )
            base += amount
        if index % label_every == 0:
            chart.x_labels.append(Label(round(x + bar_width / 2, 1), HEIGHT - _BOTTOM + 16, label))
    return chart


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    magnitude = Decimal(10) ** (value.adjusted())
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if value <= magnitude * factor:
            return magnitude * factor
    return magnitude * 10
