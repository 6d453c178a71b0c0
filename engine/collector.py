"""The cyclic garbage collector paused while a long search or check builds data that lives on."""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """The cyclic collector waits inside the block, and resumes after it if it was running.

    The checks and searches keep what they build (abstract states, edges, every state met)
    to the end, and none of it is cyclic garbage, so each collection would only re-scan it
    and the story: half the time of a check of a large story, a tenth of an exhaustive search.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
