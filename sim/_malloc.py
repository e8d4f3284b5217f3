"""Keep freed memory in the process heap (glibc only).

The firm population lives in arrays of a few MB; every vectorised step allocates and frees
dozens of temporaries of that size. By default glibc returns each of them to the operating
system (``mmap`` above a threshold), so the next step pays page faults to get it back, which
costs about a fifth of the run time at 中关村 scale. Raising the mmap and trim thresholds keeps
that memory in the heap for reuse. This changes no result, only speed and the resident size;
on other C libraries it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_done = False


def tune_malloc() -> bool:
    """Apply the settings once per process; return whether glibc accepted them."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30))  # glibc caps this at HEAP_MAX (32 MiB on 64-bit)
    ok &= bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    ok &= bool(mallopt(_M_TOP_PAD, 64 << 20))
    _done = ok
    return ok
