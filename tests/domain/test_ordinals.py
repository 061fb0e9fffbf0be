from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from roost.domain.ordinals import OrdinalBook


def test_smallest_free_fills_gaps_first() -> None:
    book = OrdinalBook([0, 1, 3, 5])
    assert [book.take_smallest_free() for _ in range(3)] == [2, 4, 6]


def test_release_makes_an_ordinal_the_smallest_free_again() -> None:
    book = OrdinalBook(range(10))
    book.release(4)
    assert book.take_smallest_free() == 4
    assert book.take_smallest_free() == 10


def test_take_refuses_a_taken_ordinal() -> None:
    book = OrdinalBook([3])
    assert not book.take(3)
    assert book.take(7)
    assert 7 in book


@given(
    st.lists(st.tuples(st.sampled_from(["take", "free", "auto"]), st.integers(0, 30)), max_size=80)
)
def test_smallest_free_matches_a_brute_force_model(ops: list[tuple[str, int]]) -> None:
    book, model = OrdinalBook(), set[int]()
    for op, n in ops:
        if op == "take":
            assert book.take(n) == (n not in model)
            model.add(n)
        elif op == "free":
            book.release(n)
            model.discard(n)
        else:
            expected = next(i for i in range(len(model) + 1) if i not in model)
            assert book.take_smallest_free() == expected
            model.add(expected)
