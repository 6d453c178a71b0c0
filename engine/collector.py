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


@contextmanager
def for_a_command():
    """The collector off while a command starts; on leaving, what it kept given back and the collector as it was.

    A start makes modules, a story and a screen that all live on: the collector's passes over
    them find nothing (about 20 ms of the full-screen player's first frame went to them).
    `keep_loaded` turns the collector on once what lives on is made.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()  # a process that runs more than one command (the tests) can collect it again
        if was:
            gc.enable()
        else:
            gc.disable()


def keep_loaded() -> None:
    """What is alive now (the command's story, its modules, its screen) lives to the command's end:
    set aside from the collector for good (gc.freeze), which then runs on what comes after.

    Left in the young generations, a 10,000-node story is scanned again by the collector's
    passes as a random exploration runs: a fifth of its time.
    """
    gc.freeze()
    gc.enable()
