"""Grow-only work buffers that the CPU rasterizer reuses from one call to the next.

Its per-candidate arrays are large (images x candidates: 16 cameras x 300k Gaussians of projected values are
~230 MB), and a fresh array of that size is new memory from the operating system that every call would pay for in
page faults. A buffer here is kept per thread and per name, grows when a call needs more, and is handed out as a
view of the requested shape with undefined contents; it holds the largest size asked for until the process ends.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A C-contiguous array of `shape` and `dtype` backed by this thread's buffer `name` (contents undefined; valid
    until the next call with the same name on this thread)."""
    try:
        buffers = _local.buffers
    except AttributeError:
        buffers = _local.buffers = {}
    size = math.prod(shape)
    buf = buffers.get(name)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = buffers[name] = np.empty(max(size, 1), dtype)
    return buf[:size].reshape(shape)
