"""Restart policy, backoff and start limit (pure)."""

from __future__ import annotations

import pytest

from roost.runtime.policy import RestartBook, restart_wanted


@pytest.mark.parametrize(
    ("policy", "code", "wanted"),
    [
        ("always", 0, True),
        ("always", 1, True),
        ("on-failure", 0, False),
        ("on-failure", 2, True),
        ("on-failure", -9, True),  # killed by a signal
        ("on-failure", None, True),  # unknown (adopted): counts as a failure
        ("no", 1, False),
        ("no", 0, False),
    ],
)
def test_restart_wanted(policy: str, code: int | None, wanted: bool) -> None:
    assert restart_wanted(policy, code) is wanted  # type: ignore[arg-type]


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    book = RestartBook(burst=100)
    delays = []
    for n in range(9):
        book.exited(now=float(n), ran_for=0.1)
        delays.append(book.delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_stable_run_starts_the_backoff_over() -> None:
    book = RestartBook(burst=100)
    for n in range(4):
        book.exited(now=float(n), ran_for=0.1)
    assert book.delay == 4.0
    book.exited(now=100.0, ran_for=60.0)
    assert book.delay == 0.5


def test_start_limit_is_five_failures_in_sixty_seconds() -> None:
    book = RestartBook()
    for now in (0.0, 10.0, 20.0, 30.0):
        book.exited(now=now, ran_for=0.1)
        assert not book.limit_hit
    book.exited(now=40.0, ran_for=0.1)
    assert book.limit_hit
    spread = RestartBook()
    for now in (0.0, 20.0, 40.0, 60.0, 80.0, 100.0):  # never 5 inside one minute
        spread.exited(now=now, ran_for=0.1)
        assert not spread.limit_hit
