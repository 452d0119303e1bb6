"""Raw data pointers for compiled code: ``i64_ptr(M)`` / ``f64_ptr(F)`` (numba), identity in Python.

The interpreter's many small helpers take the machine memory as a raw pointer rather than an
array: that removes the reference counting numba does on array arguments, so LLVM inlines the
helpers into the interpreter loop. The caller keeps the array alive for the duration of the call.
Under ``NUMBA_DISABLE_JIT=1`` the helpers receive the numpy arrays themselves (same indexing).
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.extending import intrinsic, overload


def i64_ptr(arr: Any) -> Any:
    return arr


def f64_ptr(arr: Any) -> Any:
    return arr


@intrinsic
def _data_ptr(typingctx: Any, arr: Any) -> Any:
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return ary.data

    return sig, codegen


# numba matches the overload's parameter names and annotations exactly: keep these unannotated.
def _impl(arr):
    return _data_ptr(arr)  # type: ignore[call-arg]


@overload(i64_ptr)
def _ov_i64_ptr(arr):
    return _impl


@overload(f64_ptr)
def _ov_f64_ptr(arr):
    return _impl
