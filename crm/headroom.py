"""Calls that run in a stack chunk of their own, for the request handler (crm/wsgi.py).

CPython (3.11 on, until python/cpython#142183 is fixed) keeps Python frames in chunks of 16 KiB.
A call that does not fit in the current chunk gets a new one from mmap, and the chunk is
unmapped when that call returns; nothing keeps it for the next call. A loop that runs just below
a chunk boundary therefore maps, faults in and unmaps a chunk on every call it makes. Where the
boundaries fall depends on how deep each page's templates nest, so any change can move one into
a hot loop. Under gunicorn the sales dashboard had one inside its section tables: 229 page
faults and 12 ms of CPU per page; through the wrapper, 8 faults and 7 ms. Under the test client
the customer list's cells crossed one about 1,200 times per page (2,400 faults, 15 of its 40 ms
in the kernel).

`with_headroom(func)` calls `func` from a frame that declares a stack of STACK_WORDS slots. The
interpreter gives that frame a chunk of its own, twice that size. The frame never uses those
slots, so everything `func` calls fits in the chunk's other half (512 KiB, more than the deepest
page needs), and no boundary is crossed. The chunk is mapped once per call of the wrapper. Only
the pages the calls touch are faulted in.
"""

import functools
import sys

STACK_WORDS = 1 << 16  # 512 KiB of stack slots; the chunk is 1 MiB


def _call(func, args, kwargs):
    return func(*args, **kwargs)


if sys.implementation.name == "cpython":  # stack slots are CPython's; elsewhere a plain call
    _call.__code__ = _call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + STACK_WORDS)


def with_headroom(func):
    """`func`, called from a frame whose stack chunk has room for everything it calls."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _call(func, args, kwargs)

    return wrapper
