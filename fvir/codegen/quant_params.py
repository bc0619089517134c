"""Reading the integer parameters of quantized dnn IR (docs/quantization.md) for the backend.

The quantized forms are: int8 tensors `tensor<...xi8, #dnn.fixed<F, Z>>` (value =
(q - Z) * 2**-F; `#dnn.fixed<F>` has Z = 0) and
integer properties on the accelerator ops (`shift` per output channel or one for all on conv2d
and dense; `shift_a`, `shift_b`, `shift` on add; `shift` on mul; `avg_mul`, `avg_shift` on
average pooling). Float dnn IR is accepted too, as if it were int8 with F = 0 and zero shifts,
so that FileCheck tests and fp32-mode packages can start from float IR.

Everything here reads attributes by name rather than by class, so it keeps working whatever
Python class the dnn dialect gives `#dnn.fixed`; a property of the wrong kind is a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import DenseArrayBase, IntAttr, IntegerAttr, TensorType
from xdsl.ir import Attribute, Operation, ParametrizedAttribute

from fvir.ir import dnn
from fvir.isa import Act
from fvir.quant.contract import clip_bounds, isa_act, round_half_up


class QuantError(ValueError):
    """Quantized IR that breaks the contract (a shift of the wrong form, an unsupported act)."""


def _int_of(attr: Attribute) -> int | None:
    if isinstance(attr, IntAttr):
        return attr.data
    if isinstance(attr, IntegerAttr):
        return attr.value.data
    return None


def frac_bits(ty: Attribute) -> int | None:
    """F of a `tensor<...xi8, #dnn.fixed<F>>`, None for a tensor without that encoding."""
    if not isinstance(ty, TensorType):
        return None
    enc = ty.encoding
    if getattr(enc, "name", None) != "dnn.fixed" or not isinstance(enc, ParametrizedAttribute):
        return None
    for p in enc.parameters:
        value = _int_of(p)
        if value is not None:
            return value
    raise QuantError(f"cannot read the fraction bits of {enc}")


def zero_point(ty: Attribute) -> int:
    """Z of a `tensor<...xi8, #dnn.fixed<F, Z>>` (its second parameter); 0 when it has none
    (`#dnn.fixed<F>`, float tensors)."""
    if frac_bits(ty) is None:
        return 0
    assert isinstance(ty, TensorType) and isinstance(ty.encoding, ParametrizedAttribute)
    values = [_int_of(p) for p in ty.encoding.parameters]
    return values[1] if len(values) > 1 and values[1] is not None else 0


def is_int8(ty: Attribute) -> bool:
    return isinstance(ty, TensorType) and frac_bits(ty) is not None


def int_prop(op: Operation, name: str, default: int = 0) -> int:
    """An integer property (IntegerAttr or one-element array), or `default` if absent."""
    attr = op.properties.get(name)
    if attr is None:
        return default
    value = _int_of(attr)
    if value is None and isinstance(attr, DenseArrayBase):
        values = dnn.ints(attr)
        if len(values) == 1:
            value = values[0]
    if value is None:
        raise QuantError(f"{op.name}: property '{name}' must be one integer, got {attr}")
    return value


def channel_shifts(op: Operation, channels: int) -> list[int]:
    """The requantization shift of each of `channels` output channels (`shift`: one per
    channel, or one for all; 0 in float IR)."""
    attr = op.properties.get("shift")
    if attr is None:
        return [0] * channels
    if isinstance(attr, DenseArrayBase):
        values = list(dnn.ints(attr))
    elif (v := _int_of(attr)) is not None:
        values = [v]
    else:
        raise QuantError(f"{op.name}: 'shift' must be integers, got {attr}")
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        raise QuantError(f"{op.name}: {len(values)} shifts for {channels} output channels")
    return values


def shift_runs(
    shifts: Sequence[int], lo: int, hi: int, period: int = 0
) -> list[tuple[int, int, int]]:
    """Maximal runs [a, b) of equal shift within channels [lo, hi): (a, b, shift); with a
    `period` (a grouped conv's output channels per group) no run crosses a multiple of it."""
    runs: list[tuple[int, int, int]] = []
    start = lo
    for c in range(lo + 1, hi + 1):
        if c == hi or shifts[c] != shifts[start] or (period and c % period == 0):
            runs.append((start, c, shifts[start]))
            start = c
    return runs


def activation(op: Operation, out_frac: int | None) -> tuple[Act, int]:
    """The ISA activation and act_arg of an op's fused `act` (the contract's `isa_act`; float
    IR as if F = 0), or of a standalone `dnn.clip(0, hi)`."""
    if isinstance(op, dnn.ClipOp):
        # Standalone: y = min(max(x, 0), hi_q), hi_q = sat8(round(hi * 2**F)) (the int8
        # reference's bounds), through a unit depthwise conv and its RELU6 stage.
        lo, hi, frac = op.lo.value.data, op.hi.value.data, frac_bits(op.input.type)
        if frac is None:
            return Act.RELU6, min(max(round_half_up(hi), 0), dnn.ACT_ARG_MAX)
        return Act.RELU6, max(clip_bounds(lo, hi, frac)[1], 0)
    act = op.properties.get("act")
    assert act is None or isinstance(act, dnn.ActivationAttr)
    try:
        return isa_act(act, out_frac or 0)
    except ValueError as exc:
        raise QuantError(f"{op.name}: {exc}") from None
