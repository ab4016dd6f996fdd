"""Flush-to-zero for the length of one Numba kernel: ``old = ftz_on()`` ... ``restore(old)``.

x86 computes on subnormal floats (magnitudes below 1.18e-38 in float32) through microcode
assists, tens of times slower than on normal ones. An optimizer's state decays geometrically
where a weight's gradient stays 0 (Adam's m by 0.9 per step), so late in training most of it
passes through that range: an Adam update of a 784x500 kernel took 4 ms instead of 0.2 ms. The
optimizer kernels therefore run with MXCSR's flush-to-zero and denormals-are-zero bits set, as
TensorFlow's and XLA's CPU kernels do, and put the caller's MXCSR back at their end: the mode
never leaks into NumPy or the user's code. Elsewhere than x86 these are no-ops (the kernels also
store state that falls below the smallest normal float as 0 themselves).
"""
import platform

import numba
import numpy as np

_FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)

if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86"):
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    def _mxcsr_call(builder, name, slot):
        i8p = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p]), name)
        builder.call(fn, [builder.bitcast(slot, i8p)])

    @intrinsic
    def ftz_on(typingctx):
        """Set flush-to-zero and denormals-are-zero in this thread's MXCSR; returns the old MXCSR."""
        def codegen(context, builder, signature, args):
            i32 = ir.IntType(32)
            slot = cgutils.alloca_once(builder, i32)
            _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
            old = builder.load(slot)
            builder.store(builder.or_(old, ir.Constant(i32, _FTZ_DAZ)), slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
            return old
        return types.uint32(), codegen

    @intrinsic
    def restore(typingctx, old):
        """Put back the MXCSR ``ftz_on`` returned."""
        def codegen(context, builder, signature, args):
            slot = cgutils.alloca_once(builder, ir.IntType(32))
            builder.store(args[0], slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
            return context.get_dummy_value()
        return types.void(old), codegen
else:
    @numba.njit(inline="always", cache=True)
    def ftz_on():
        return np.uint32(0)

    @numba.njit(inline="always", cache=True)
    def restore(old):
        return None
