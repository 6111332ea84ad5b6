"""Bar charts laid out for a server-rendered SVG: the geometry here, the markup in a template."""

from dataclasses import dataclass

WIDTH = 600
HEIGHT = 160
# Room under the bars for the first and last day's label.
LABEL_SPACE = 18
GAP = 2


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    # Where the bars stand: the x axis, and the baseline for the labels under it.
    axis_y: int
    largest: int


def bar_chart(points: list[tuple[str, int]], width: int = WIDTH, height: int = HEIGHT) -> BarChart:
    """Lay out one bar per (label, value) point, scaled so the largest fills the height."""
    if any(value < 0 for _, value in points):
        raise ValueError("a bar chart of counts and takings has no negative bars")
    plot = height - LABEL_SPACE
    largest = max((value for _, value in points), default=0)
    slot = width / len(points) if points else width
    bars = []
    for i, (label, value) in enumerate(points):
        bar_height = plot * value / largest if largest else 0
        bars.append(Bar(label=label, value=value, x=round(i * slot + GAP / 2, 2),
                        y=round(plot - bar_height, 2), width=round(slot - GAP, 2),
                        height=round(bar_height, 2)))
    return BarChart(bars=bars, width=width, height=height, axis_y=plot, largest=largest)
