"""Charts as inline SVG (pure): a series of ``[time, value]`` points drawn as a line in
a fixed box, with words that say what it shows (its latest, highest and lowest), so a
chart is never the only way to read the numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 600.0, 120.0, 4.0


@dataclass(frozen=True)
class Chart:
    title: str
    points: str  # for <polyline points="...">: "x,y x,y ..."
    summary: str  # the numbers in words, for everyone and for screen readers
    empty: bool


def chart(
    title: str,
    series: Sequence[Sequence[float]],
    start: float,
    end: float,
    show: Callable[[float], str],
) -> Chart:
    """``series`` ([unix time, value], in time order) between ``start`` and ``end`` as a
    line from 0 up to its highest value; ``show`` writes a value for the summary."""
    if not series or end <= start:
        return Chart(title, "", f"{title}: no samples yet", True)
    values = [float(value) for _, value in series]
    top = max(values) or 1.0
    span = end - start
    coordinates = []
    for at, value in series:
        x = PAD + (min(max(at, start), end) - start) / span * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - float(value) / top * (HEIGHT - 2 * PAD)
        coordinates.append(f"{x:.1f},{y:.1f}")
    summary = (
        f"{title}: latest {show(values[-1])}, highest {show(max(values))}, "
        f"lowest {show(min(values))} ({len(values)} points)"
    )
    return Chart(title, " ".join(coordinates), summary, False)
