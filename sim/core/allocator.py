"""The C allocator: keep freed memory in the process heap while a model runs (:func:`tune_malloc`)
and give it back when a large step is done with it (:func:`release_memory`). glibc only; on other C
libraries both do nothing. Neither changes a result, only speed and the resident size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

__all__ = ["tune_malloc", "release_memory"]


@functools.cache
def _libc():
    """The C library (None where it cannot be loaded)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def tune_malloc() -> bool:
    """Keep freed memory in the process heap (glibc only); once per process, returns whether
    glibc accepted the settings.

    The firm population lives in arrays of a few MB; every vectorised step allocates and frees
    dozens of temporaries of that size. By default glibc returns each of them to the operating
    system (``mmap`` above a threshold), so the next step pays page faults to get it back, which
    costs about a fifth of the run time at 中关村 scale. Raising the mmap and trim thresholds keeps
    that memory in the heap for reuse. This changes no result, only speed and the resident size;
    on other C libraries it does nothing.
    """
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30))  # glibc caps this at HEAP_MAX (32 MiB on 64-bit)
    ok &= bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    ok &= bool(mallopt(_M_TOP_PAD, 64 << 20))
    _done = ok
    return ok


def release_memory() -> bool:
    """Give the heap's free memory back to the operating system (glibc's ``malloc_trim``; returns
    whether it ran). With :func:`tune_malloc`'s settings freed blocks stay in the heap, so a step
    that frees large arrays and then allocates arrays too big for those holes (above glibc's 32 MiB
    mmap threshold) would hold both; building the firm-year table does that."""
    trim = getattr(_libc(), "malloc_trim", None) if _done else None
    if trim is None:
        return False
    trim(0)
    return True
