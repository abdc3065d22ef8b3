"""crm.headroom: a request runs in a stack chunk of its own (CPython's chunk-boundary churn)."""

import resource
import sys

import pytest

from crm.headroom import STACK_WORDS, with_headroom


def _descend(depth: int) -> int:
    return 0 if depth == 0 else _descend(depth - 1) + 1


def _up_and_down(rounds: int = 3, deepest: int = 600) -> None:
    """From every depth up to `deepest`, one call down and back: each chunk boundary in that range
    is crossed on the way down and again on the way back, `rounds` × per depth below it."""
    for _ in range(rounds):
        for depth in range(deepest):
            _descend(depth)


def _page_faults(func, *args) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    func(*args)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_it_returns_what_the_function_returns_and_passes_its_arguments():
    def join(a, b, *, sep):
        return f"{a}{sep}{b}"

    wrapped = with_headroom(join)
    assert wrapped("a", "b", sep="-") == "a-b"
    assert wrapped.__wrapped__ is join
    assert wrapped.__name__ == "join"


def test_it_lets_exceptions_through():
    def fail():
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        with_headroom(fail)()


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="stack chunks are CPython's")
def test_calls_made_through_it_cross_no_stack_chunk_boundary():
    """Plain, the walk maps and faults in a fresh chunk at every crossing (thousands of page
    faults); through the wrapper it runs inside one chunk mapped once."""
    plain = _page_faults(_up_and_down)
    if plain < 1000:
        pytest.skip(f"this interpreter keeps its stack chunks ({plain} page faults without the wrapper)")
    through = _page_faults(with_headroom(_up_and_down))
    assert through < plain / 20, (through, plain)
    assert through < STACK_WORDS * 8 / resource.getpagesize()  # at most the chunk's own pages
