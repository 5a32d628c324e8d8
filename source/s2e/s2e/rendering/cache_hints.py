"""A prefetch hint for the CPU kernels' gathers (LLVM's llvm.prefetch through Numba).

The compositing loop reads each tile's Gaussians through a list of record indices, and the depth sort packs each
image's Gaussians in depth order: both gather from arrays of megabytes at indices no hardware prefetcher can guess,
so every read waits on memory. The index of the read a few iterations ahead is known, so the kernels ask for that
cache line early; the hint never changes a value, only when its line arrives.
"""

from __future__ import annotations

import llvmlite.ir as ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

AHEAD = 16
"""How many iterations ahead the kernels prefetch: enough to cover a miss to memory, few enough to stay in L1."""

_I32 = ir.IntType(32)
_I8P = ir.IntType(8).as_pointer()


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to bring the cache line of array[index] (index: a tuple of ints, in bounds) into its caches for
    reading; no effect on any value."""
    if not isinstance(array, types.Array) or not isinstance(index, types.BaseTuple) or len(index) != array.ndim:
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        ary = context.make_array(array_type)(context, builder, args[0])
        indices = [context.cast(builder, value, kind, types.intp)
                   for value, kind in zip(cgutils.unpack_tuple(builder, args[1], count=len(index_type)), index_type)]
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, indices, wraparound=False)
        hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32]),
                                              "llvm.prefetch.p0i8")
        # read (0), keep in all cache levels (3), data cache (1)
        builder.call(hint, [builder.bitcast(pointer, _I8P), ir.Constant(_I32, 0), ir.Constant(_I32, 3),
                            ir.Constant(_I32, 1)])
        return context.get_dummy_value()

    return sig, codegen
