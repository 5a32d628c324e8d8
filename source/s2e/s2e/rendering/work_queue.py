"""Jobs handed out one at a time to the kernels' threads, for work items of unequal cost.

Numba's parallel loops split their range into one contiguous block per thread before the loop starts (its OpenMP
layer, the one the CPU kernels run under, schedules statically). The camera's work items are far from equal: an image
looking down a street holds a hundred times the Gaussians of one facing a wall, a sky tile ends after a few of them
while a facade tile composites thousands, so one thread often finished its block while the other still had half of
the work. Here each thread takes the next unclaimed job from a shared counter until none is left:

    counter = np.zeros(1, np.int64)
    for _ in prange(workers):  # workers = numba.get_num_threads(), passed in by the caller
        job = claim(counter)
        while job < num_jobs:
            ...  # job's work
            job = claim(counter)

Which thread runs a job changes nothing in its result: every job writes its own outputs.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def claim(typingctx, counter):
    """The next job's index: counter[0] += 1 as one atomic operation, returning the value before (`counter`: an
    int64 array of one element, zero before the loop)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, signature.args[0], ary,
                                           [context.get_constant(types.intp, 0)], wraparound=False)
        return builder.atomic_rmw("add", pointer, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen
