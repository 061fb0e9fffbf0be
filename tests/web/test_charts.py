"""Charts as SVG (pure): where the points go, and the words beside them."""

from __future__ import annotations

from roost.web.charts import HEIGHT, PAD, WIDTH, chart


def test_points_span_the_box_from_zero_to_the_highest_value() -> None:
    drawn = chart("CPU", [[100, 0.0], [150, 5.0], [200, 10.0]], 100, 200, lambda v: f"{v:.0f}%")
    xs, ys = zip(*(tuple(map(float, p.split(","))) for p in drawn.points.split()), strict=True)
    assert xs == (PAD, WIDTH / 2, WIDTH - PAD)
    assert ys == (HEIGHT - PAD, HEIGHT / 2, PAD)
    assert drawn.summary == "CPU: latest 10%, highest 10%, lowest 0% (3 points)"
    assert not drawn.empty


def test_points_outside_the_window_are_held_at_its_edges_and_no_samples_say_so() -> None:
    drawn = chart("Memory", [[50, 1.0], [250, 1.0]], 100, 200, str)
    assert [p.split(",")[0] for p in drawn.points.split()] == [f"{PAD:.1f}", f"{WIDTH - PAD:.1f}"]
    nothing = chart("Memory", [], 100, 200, str)
    assert nothing.empty and nothing.summary == "Memory: no samples yet"
    flat = chart("CPU", [[100, 0.0], [200, 0.0]], 100, 200, str)
    assert {p.split(",")[1] for p in flat.points.split()} == {f"{HEIGHT - PAD:.1f}"}
