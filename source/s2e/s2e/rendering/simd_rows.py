"""One Gaussian blended into two 8-pixel rows of a tile with 16-lane vector instructions (LLVM IR via Numba).

Numba leaves a fixed-size pixel loop scalar (it unrolls it, and its SLP vectorizer is off), so the compositing
kernel's inner step is written as vector IR: two adjacent rows' transmittance and four accumulators are loaded as
<16 x float>, updated lane by lane as the scalar per-pixel loop would, and stored whole (a store of only the changed
lanes would keep the next Gaussian's load of the same rows from being forwarded, several times slower). Two rows a
call because most Gaussians of a street view are a few pixels across: a call per pair of rows is fewer calls per
Gaussian than a call per row, at the same arithmetic per pixel (on AVX-512 a call is one instruction per step; with
AVX2 it is two, as two rows were). exp(-sigma) is a Cody-Waite reduction by ln 2 and a degree-6 polynomial (relative
error < 3e-7 against exp) with the exponent written into the float's bits, since PyPI's llvmlite has no vector math
library.
"""

from __future__ import annotations

import llvmlite.ir as ir
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .projection import ALPHA_THRESHOLD, MAX_ALPHA, MIN_TRANSMITTANCE

LANES = 8
"""Pixels per row of a tile (cpu_kernels.TILE is this)."""
ROWS = 2
"""Rows per call: a call's vectors hold ROWS * LANES pixels, row after row."""
WIDTH = ROWS * LANES
_F32 = ir.FloatType()
_I32 = ir.IntType(32)
_VF = ir.VectorType(_F32, WIDTH)
_VI = ir.VectorType(_I32, WIDTH)
_MASK = ir.IntType(WIDTH)

STATE_PLANES = 5
"""A tile's state [5, 64]: transmittance, r, g, b and depth sums; pixel = row * 8 + column."""


def _const(values) -> ir.Constant:
    values = values if isinstance(values, (list, tuple)) else [values] * WIDTH
    return ir.Constant(_VF, [float(np.float32(v)) for v in values])


def _splat(builder: ir.IRBuilder, scalar, vector_type=_VF):
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), scalar, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, ir.Constant(vector_type, ir.Undefined), ir.Constant(_VI, [0] * WIDTH))


def _min(builder, a, b):
    return builder.select(builder.fcmp_ordered("<", a, b), a, b)


def _max(builder, a, b):
    return builder.select(builder.fcmp_ordered(">", a, b), a, b)


def _exp_neg(builder: ir.IRBuilder, s):
    """exp(-s) lane by lane for s >= 0 (clamped at 80, where it is ~1e-35)."""
    floor = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VF, [_VF]), f"llvm.floor.v{WIDTH}f32")
    x = builder.fsub(_const(0.0), _min(builder, s, _const(80.0)))
    k = builder.call(floor, [builder.fadd(builder.fmul(x, _const(1.4426950408889634)), _const(0.5))])
    r = builder.fsub(builder.fsub(x, builder.fmul(k, _const(0.693145751953125))),
                     builder.fmul(k, _const(1.428606765330187e-06)))  # x - k ln 2 in two parts
    p = _const(1.0 / 720.0)
    for c in (1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = builder.fadd(builder.fmul(p, r), _const(c))
    exponent = builder.shl(builder.add(builder.fptosi(k, _VI), ir.Constant(_VI, [127] * WIDTH)),
                           ir.Constant(_VI, [23] * WIDTH))
    return builder.fmul(p, builder.bitcast(exponent, _VF))


@intrinsic
def composite_rows(typingctx, state, row, todo, x0, dy0, dy1, u, ca, cb, cc, opacity, red, green, blue, depth):
    """Blend one Gaussian into rows `row` and `row` + 1 (row even) of a tile's `state` (STATE_PLANES x 64 float32, C
    order), front to back, at the pixels whose bits are set in `todo` (bit 8 r + c: column c of the r-th of the two
    rows; the Gaussian's box and the pixels still live): sigma = 0.5 (ca dx^2 + cc dy^2) + cb dx dy >= 0 with
    dx = u - (x0 + column + 0.5) and dy = dy0 or dy1 by row, and where alpha = min(0.999, opacity exp(-sigma)) >=
    1/255 the pixel takes the colour and depth weighted by alpha T, and T *= 1 - alpha; where that would leave
    T <= 1e-4 the pixel ends instead (unchanged). Returns the ended pixels as bits, as `todo`."""
    f32 = types.float32
    sig = types.int64(state, types.int64, types.int64, types.int64, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32,
                      f32)

    def codegen(context, builder, signature, args):
        st, row_, todo_, x0_, dy0_, dy1_, u_, ca_, cb_, cc_, o_, red_, green_, blue_, depth_ = args
        data = builder.bitcast(context.make_array(signature.args[0])(context, builder, st).data, _F32.as_pointer())
        first = builder.mul(row_, ir.Constant(row_.type, LANES))
        ptrs = [builder.bitcast(builder.gep(data, [builder.add(first, ir.Constant(row_.type, plane * LANES * LANES))]),
                                _VF.as_pointer()) for plane in range(STATE_PLANES)]
        t, *sums = [builder.load(p, align=4) for p in ptrs]
        wanted = builder.bitcast(builder.trunc(todo_, _MASK), ir.VectorType(ir.IntType(1), WIDTH))
        centres = builder.fadd(_splat(builder, builder.sitofp(x0_, _F32)),
                               _const([c % LANES + 0.5 for c in range(WIDTH)]))
        lower = ir.Constant(_VI, [int(c >= LANES) for c in range(WIDTH)])
        dyv = builder.select(builder.icmp_signed("!=", lower, ir.Constant(_VI, [0] * WIDTH)), _splat(builder, dy1_),
                             _splat(builder, dy0_))
        dx = builder.fsub(_splat(builder, u_), centres)
        quad = builder.fadd(builder.fmul(builder.fmul(_splat(builder, ca_), dx), dx),
                            builder.fmul(builder.fmul(_splat(builder, cc_), dyv), dyv))
        sigma = builder.fadd(builder.fmul(_const(0.5), quad), builder.fmul(builder.fmul(_splat(builder, cb_), dx), dyv))
        alpha = _min(builder, _const(MAX_ALPHA),
                     builder.fmul(_splat(builder, o_), _exp_neg(builder, _max(builder, sigma, _const(0.0)))))
        hit = builder.and_(wanted, builder.fcmp_ordered(">=", sigma, _const(0.0)))
        hit = builder.and_(hit, builder.fcmp_ordered(">=", alpha, _const(ALPHA_THRESHOLD)))
        next_t = builder.fmul(t, builder.fsub(_const(1.0), alpha))
        end = builder.and_(hit, builder.fcmp_ordered("<=", next_t, _const(MIN_TRANSMITTANCE)))
        draw = builder.and_(hit, builder.not_(end))
        # whole-row stores of x + 0 and T * 1 where nothing is drawn: the same values as leaving the lane alone
        vis = builder.select(draw, builder.fmul(alpha, t), _const(0.0))
        for ptr, total, value in zip(ptrs[1:], sums, (red_, green_, blue_, depth_)):
            builder.store(builder.fadd(total, builder.fmul(_splat(builder, value), vis)), ptr, align=4)
        builder.store(builder.fmul(t, builder.select(draw, builder.fsub(_const(1.0), alpha), _const(1.0))), ptrs[0],
                      align=4)
        return builder.zext(builder.bitcast(end, _MASK), ir.IntType(64))

    return sig, codegen
