"""The `dnn` dialect: layer-level neural-network operations.

This is the dialect the ONNX importer produces and the static compiler starts from. Values are
builtin ranked `tensor<...>` types; images are NCHW, convolution weights OIHW. Recurrent layers
use ONNX's layout 0 (`X: [seq, batch, input]`); the importer normalises layout 1 with transposes.

Weights are not inlined: `dnn.weight "conv1.w"` names a tensor in a `WeightStore`
(see `fvir.ir.weights`). Small tests may inline values with `dnn.constant`.

An activation may be fused into a producer (`conv2d`, `dense`, `add`) through the `act`
property, an `#dnn.act<...>` attribute: `relu`, `clip lo hi`, `leaky_relu alpha`, `sigmoid`,
`tanh`. The standalone activation ops (`dnn.relu`, ...) carry the same meaning.

Anything an accelerator will never run (LRN, ...) is a `dnn.host` op naming its ONNX op type;
the reference executor and the host segments of the runtime execute it in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import auto
from fractions import Fraction
from math import floor, isfinite, prod
from typing import Any, ClassVar, overload

import numpy as np
from xdsl.dialects.builtin import (
    I64,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float64Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    f64,
    i8,
    i32,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from fvir.isa.spec import LEAKY_SHIFT, REQUANT_MUL_MAX, Opcode
from fvir.isa.spec import field as isa_field

Shape = tuple[int, ...]

# ----------------------------------------------------------------------------------- helpers


def shape_of(value: SSAValue) -> Shape:
    """Static shape of a ranked tensor value (verifiers run after type checks)."""
    ty = value.type
    if not isinstance(ty, TensorType):
        raise VerifyException(f"expected a ranked tensor, got {ty}")
    return tuple(ty.get_shape())


def ints(attr: DenseArrayBase) -> tuple[int, ...]:
    """The Python ints of an `array<i64: ...>` property."""
    return tuple(int(v) for v in attr.get_values())


def i64_array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def f64_attr(value: float) -> FloatAttr:
    return FloatAttr(float(value), f64)


def int8_eltwise_shapes(a: Shape, b: Shape, y: Shape) -> bool:
    """Whether an int8 add / mul takes these shapes: all equal, or b a per-channel vector
    [1, C, 1, 1] of the batch-1 image a = y = [1, C, H, W] (ELEW's bcast_b)."""
    if a == b == y:
        return True
    return len(a) == 4 and a == y and a[0] == 1 and tuple(b) == (1, a[1], 1, 1)


def broadcast_shapes(*shapes: Shape) -> Shape:
    """Numpy/ONNX multidirectional broadcasting; raises VerifyException if incompatible."""
    rank = max(len(s) for s in shapes)
    out: list[int] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0} - {1}
        if len(dims) > 1:
            raise VerifyException(f"shapes {list(map(list, shapes))} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def _expect_type(op: Operation, shape: Shape, result: SSAValue | None = None) -> None:
    got = shape_of(result if result is not None else op.results[0])
    if got != tuple(shape):
        dims = "x".join(map(str, shape))
        raise VerifyException(
            f"expected result shape {dims or 'scalar'}, got {'x'.join(map(str, got)) or 'scalar'}"
        )


def _element_type(value: SSAValue) -> Attribute:
    ty = value.type
    assert isinstance(ty, TensorType)
    return ty.element_type


def _tensor_like(value: SSAValue, shape: Sequence[int]) -> TensorType:
    """`value`'s tensor type with another shape; the encoding (`#dnn.fixed<F>`) is kept, so
    layout ops built on int8 fixed-point values infer the right result type."""
    ty = value.type
    assert isinstance(ty, TensorType)
    return TensorType(ty.element_type, list(shape), ty.encoding)


def _check_len(op_name: str, prop: str, values: Sequence[int], n: int, positive: bool) -> None:
    if len(values) != n:
        raise VerifyException(f"'{prop}' must have {n} elements, got {len(values)}")
    if positive and any(v < 1 for v in values):
        raise VerifyException(f"'{prop}' must be positive, got {list(values)}")
    if not positive and any(v < 0 for v in values):
        raise VerifyException(f"'{prop}' must be non-negative, got {list(values)}")


def window_out_dim(
    size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dil: int = 1, ceil: bool = False
) -> int:
    """Output extent of a sliding window (ONNX Conv/Pool); ceil_mode drops a window that would
    start inside the trailing padding, as ONNX (opset >= 19) and PyTorch do."""
    span = dil * (k - 1) + 1
    num = size + pad_lo + pad_hi - span
    if not ceil:
        return num // stride + 1
    out = -(-num // stride) + 1
    if (out - 1) * stride >= size + pad_lo:
        out -= 1
    return out


# -------------------------------------------------------------------------------- attributes


def _float_literal(value: float) -> str:
    """repr() of a float as an MLIR float literal, which needs a '.' (`1e-05` -> `1.0e-05`)."""
    text = repr(float(value))
    return text if "." in text else text.replace("e", ".0e")


class ActKind(StrEnum):
    RELU = auto()
    CLIP = auto()
    LEAKY_RELU = auto()
    SIGMOID = auto()
    TANH = auto()


_ACT_ARITY = {
    ActKind.RELU: 0,
    ActKind.CLIP: 2,
    ActKind.LEAKY_RELU: 1,
    ActKind.SIGMOID: 0,
    ActKind.TANH: 0,
}


@irdl_attr_definition
class ActivationAttr(ParametrizedAttribute):
    """An activation function fused into an op: `#dnn.act<clip 0.0 6.0>`.

    Parameters: `relu`, `clip lo hi`, `leaky_relu alpha`, `sigmoid`, `tanh`.
    """

    name = "dnn.act"

    kind: StringAttr
    params: ArrayAttr[FloatAttr[Float64Type]]

    def __init__(self, kind: ActKind | str, params: Sequence[float] = ()):
        super().__init__(StringAttr(str(kind)), ArrayAttr([f64_attr(p) for p in params]))

    @property
    def act_kind(self) -> ActKind:
        return ActKind(self.kind.data)

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(p.value.data for p in self.params.data)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            kind = parser.parse_identifier()
            params: list[FloatAttr] = []
            while (value := parser.parse_optional_number()) is not None:
                params.append(f64_attr(value))
        return (StringAttr(kind), ArrayAttr(params))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string(self.kind.data)
            for value in self.values:
                printer.print_string(f" {_float_literal(value)}")

    def verify(self) -> None:
        try:
            kind = ActKind(self.kind.data)
        except ValueError:
            raise VerifyException(
                f"unknown activation '{self.kind.data}' "
                f"(expected one of {', '.join(k.value for k in ActKind)})"
            ) from None
        if len(self.params.data) != _ACT_ARITY[kind]:
            raise VerifyException(
                f"activation '{kind}' takes {_ACT_ARITY[kind]} parameters, "
                f"got {len(self.params.data)}"
            )
        if not all(isfinite(v) for v in self.values):
            # inf/nan have no float literal in the custom syntax: they would not parse back.
            raise VerifyException(f"activation parameters must be finite, got {list(self.values)}")
        if kind == ActKind.CLIP and self.values[0] > self.values[1]:
            raise VerifyException(f"clip bounds must satisfy lo <= hi, got {list(self.values)}")


class PoolKind(StrEnum):
    MAX = auto()
    AVG = auto()


@irdl_attr_definition
class PoolKindAttr(EnumAttribute[PoolKind], SpacedOpaqueSyntaxAttribute):
    name = "dnn.pool_kind"


class RnnDirection(StrEnum):
    FORWARD = auto()
    REVERSE = auto()
    BIDIRECTIONAL = auto()


@irdl_attr_definition
class RnnDirectionAttr(EnumAttribute[RnnDirection], SpacedOpaqueSyntaxAttribute):
    name = "dnn.direction"


# ------------------------------------------------------------------------ int8 fixed point

# Ranges of the integer parameters: those of the ISA fields that realise them.
SHIFT_MAX = isa_field(Opcode.CONVINIT, "shift_cut").hi
ACT_ARG_MAX = isa_field(Opcode.CONVINIT, "act_arg").hi
AVG_MUL_MAX = isa_field(Opcode.POOLINIT, "avg_mul").hi
LUT_FRAC_MIN = isa_field(Opcode.ACT, "in_frac").lo
LUT_FRAC_MAX = isa_field(Opcode.ACT, "in_frac").hi


@irdl_attr_definition
class FixedPointAttr(ParametrizedAttribute):
    """The encoding of an int8 fixed-point tensor: `tensor<1x64x56x56xi8, #dnn.fixed<5>>`
    holds q with value q * 2**-F (F may be negative); `#dnn.fixed<5, -128>` has the zero
    point Z = -128: value (q - Z) * 2**-F (Z = 0 is not printed). See docs/quantization.md."""

    name = "dnn.fixed"

    frac: IntAttr
    zero: IntAttr

    def __init__(self, frac: int, zero: int = 0):
        super().__init__(IntAttr(frac), IntAttr(zero))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            frac = parser.parse_integer()
            zero = parser.parse_integer() if parser.parse_optional_punctuation(",") else 0
        return (IntAttr(frac), IntAttr(zero))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            zero = self.zero.data
            printer.print_string(f"{self.frac.data}, {zero}" if zero else str(self.frac.data))

    def verify(self) -> None:
        if not -128 <= self.zero.data <= 127:
            raise VerifyException(f"a zero point is an int8, got {self.zero.data}")


def fixed_type(shape: Sequence[int], frac: int, zero: int = 0) -> TensorType:
    """`tensor<shape x i8, #dnn.fixed<frac, zero>>`."""
    return TensorType(i8, list(shape), FixedPointAttr(frac, zero))


def fixed_frac(value: SSAValue | Attribute) -> int | None:
    """F of an int8 fixed-point tensor value (or type), None for anything else."""
    ty = value.type if isinstance(value, SSAValue) else value
    if isinstance(ty, TensorType) and isinstance(ty.encoding, FixedPointAttr):
        return ty.encoding.frac.data
    return None


def fixed_zero(value: SSAValue | Attribute) -> int:
    """Z of an int8 fixed-point tensor value (or type); 0 for anything else."""
    ty = value.type if isinstance(value, SSAValue) else value
    if isinstance(ty, TensorType) and isinstance(ty.encoding, FixedPointAttr):
        return ty.encoding.zero.data
    return 0


def is_fixed_op(op: Operation) -> bool:
    """Does `op` compute on int8 fixed-point tensors (any operand or result)?"""
    return any(fixed_frac(v) is not None for v in (*op.operands, *op.results))


@overload
def round_half_up(x: float | Fraction) -> int: ...
@overload
def round_half_up(x: np.ndarray) -> np.ndarray: ...
def round_half_up(x: float | Fraction | np.ndarray) -> int | np.ndarray:
    """floor(x + 1/2): the rounding of every real-to-integer step of the int8 contract. A
    scalar gives an exact int (a Fraction is rounded exactly). An array gives whole floats of
    its own float type (float64 for integers), exact for |x| < 2**23 in float32 (2**52 in
    float64): float32 data scaled by a power of two (exact) needs no float64 copy, since int8
    and int32 results saturate below those bounds."""
    if isinstance(x, np.ndarray):
        y = x if x.dtype.kind == "f" else x.astype(np.float64)
        return np.floor(y + y.dtype.type(0.5))
    return floor(x + Fraction(1, 2))


def clip_bounds(lo: float, hi: float, frac: int, zero: int = 0) -> tuple[int, int]:
    """A clip's bounds on the int8 grid of exponent `frac` and zero point `zero`:
    sat8(round_half_up(bound * 2**F) + Z)."""
    lo_q, hi_q = (min(max(round_half_up(b * 2.0**frac) + zero, -128), 127) for b in (lo, hi))
    return lo_q, hi_q


def _fixed_fracs(values: Sequence[SSAValue], what: str = "operands and result") -> list[int] | None:
    """The exponents of `values` if all are int8 fixed-point, None if none is; a mix, or a
    `#dnn.fixed` encoding on something other than i8, is an error."""
    fracs = [fixed_frac(v) for v in values]
    if all(f is None for f in fracs):
        return None
    for v, f in zip(values, fracs, strict=True):
        if f is None:
            raise VerifyException(
                f"{what} must be all int8 fixed-point or all not, got {v.type} among "
                "#dnn.fixed tensors"
            )
        if _element_type(v) != i8:
            raise VerifyException(f"#dnn.fixed applies to i8 tensors, got {v.type}")
    return [f for f in fracs if f is not None]


def _same_frac(op: Operation, values: Sequence[SSAValue]) -> None:
    """Exact int8 ops (layout, max pooling, relu/clip) keep the encoding: Fy = Fx, Zy = Zx."""
    fracs = _fixed_fracs(values)
    if fracs is not None and len(set(fracs)) > 1:
        raise VerifyException(
            f"int8 fixed-point {op.name} needs one exponent for its inputs and result, got "
            f"#dnn.fixed<{fracs[0]}> ... #dnn.fixed<{fracs[-1]}> ({fracs})"
        )
    zeros = [fixed_zero(v) for v in values]
    if fracs is not None and len(set(zeros)) > 1:
        raise VerifyException(
            f"int8 fixed-point {op.name} needs one zero point for its inputs and result, got "
            f"{zeros}")


def _symmetric(op: Operation, values: Sequence[SSAValue]) -> None:
    """int8 ops whose integer kernels assume symmetric codes (Z = 0)."""
    for v in values:
        if fixed_zero(v):
            raise VerifyException(
                f"int8 fixed-point {op.name} takes no zero point, got {v.type}")


def _in_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise VerifyException(f"'{name}' must be in {lo}..{hi}, got {value}")


def _int_prop(attr: IntegerAttr | None, default: int = 0) -> int:
    return default if attr is None else attr.value.data


def _no_int8_props(op: Operation, names: Sequence[str], what: str = "") -> None:
    """Integer parameters where they mean nothing (a float op) are a mistake, not something
    to ignore."""
    present = [n for n in names if n in op.properties]
    if present:
        raise VerifyException(
            f"'{present[0]}' applies to {what or f'int8 fixed-point {op.name}'} only"
        )


def _require_props(op: Operation, names: Sequence[str]) -> None:
    missing = [n for n in names if n not in op.properties]
    if missing:
        raise VerifyException(f"int8 fixed-point {op.name} needs '{missing[0]}'")


def _verify_int8_act(act: ActivationAttr | None, frac_out: int) -> None:
    """The fused activations an int8 op can realise on its output (docs/quantization.md):
    relu, clip(0, hi) as RELU6 with act_arg = round(hi * 2**Fy), leaky_relu as LEAKY with
    act_arg = round(alpha * 256); sigmoid and tanh are separate (LUT) ops."""
    if act is None:
        return
    kind, p = act.act_kind, act.values
    if kind in (ActKind.SIGMOID, ActKind.TANH):
        raise VerifyException(
            f"#dnn.act<{kind}> cannot be fused into an int8 fixed-point op (it is a separate "
            f"dnn.{kind} lookup table)"
        )
    if kind == ActKind.CLIP:
        if p[0] != 0.0:
            raise VerifyException(
                f"an int8 fixed-point op realises clip as RELU6, which needs lo = 0, got "
                f"clip {p[0]} {p[1]}"
            )
        arg = round_half_up(p[1] * 2.0**frac_out)
        if arg > ACT_ARG_MAX:
            raise VerifyException(
                f"RELU6 act_arg = round({p[1]} * 2**{frac_out}) = {arg} exceeds {ACT_ARG_MAX}"
            )
    if kind == ActKind.LEAKY_RELU:
        arg = round_half_up(p[0] * 2**LEAKY_SHIFT)
        if not 0 <= arg <= ACT_ARG_MAX:
            raise VerifyException(
                f"LEAKY act_arg = round({p[0]} * {2**LEAKY_SHIFT}) = {arg} is outside "
                f"0..{ACT_ARG_MAX}"
            )


def _verify_accumulating(op: Conv2dOp | DenseOp, out_channels: int, frac_out: int) -> None:
    """conv2d / dense on int8: i8 weight, i32 bias, `shift` with 1 or C_out entries; or, with
    `mul` (per output channel, 1..REQUANT_MUL_MAX), one `shift`."""
    if _element_type(op.weight) != i8 or fixed_frac(op.weight) is not None:
        raise VerifyException(
            f"int8 fixed-point {op.name} needs a plain i8 weight, got {op.weight.type}"
        )
    if op.bias is not None and (_element_type(op.bias) != i32 or fixed_frac(op.bias) is not None):
        raise VerifyException(
            f"int8 fixed-point {op.name} needs an i32 bias (at the accumulator's scale), got "
            f"{op.bias.type}"
        )
    _require_props(op, ["shift"])
    assert op.shift is not None
    shifts = ints(op.shift)
    if len(shifts) not in (1, out_channels):
        raise VerifyException(
            f"'shift' must have 1 or {out_channels} (output channels) entries, got {len(shifts)}"
        )
    for s in shifts:
        _in_range("shift", s, 0, SHIFT_MAX)
    if op.mul is not None:
        muls = ints(op.mul)
        if len(muls) != out_channels:
            raise VerifyException(
                f"'mul' must have {out_channels} (output channels) entries, got {len(muls)}")
        for m in muls:
            _in_range("mul", m, 1, REQUANT_MUL_MAX)
        if len(shifts) != 1:
            raise VerifyException("with 'mul' the layer has one 'shift'")
    _verify_int8_act(op.act, frac_out)


def avg_multiplier(window: int, avg_shift: int, frac_change: int = 0) -> int:
    """avg_mul = round(2**(avg_shift + Fy - Fx) / window) (round half up), exactly:
    averaging and moving from exponent Fx to Fy in one multiply-and-shift."""
    return round_half_up(Fraction(2) ** (avg_shift + frac_change) / window)


def _verify_int8_avg(op: Operation, window: int, fx: int, fy: int) -> None:
    _require_props(op, ["avg_mul", "avg_shift"])
    mul, shift = _int_prop(op.properties["avg_mul"]), _int_prop(op.properties["avg_shift"])
    _in_range("avg_shift", shift, 0, SHIFT_MAX)
    _in_range("avg_mul", mul, 0, AVG_MUL_MAX)
    if mul != (want := avg_multiplier(window, shift, fy - fx)):
        raise VerifyException(
            f"'avg_mul' must be round(2**({shift} + {fy} - {fx}) / {window}) = {want}, got {mul}"
        )


# ------------------------------------------------------------------------- weights and values


@irdl_op_definition
class WeightOp(IRDLOperation):
    """A tensor held in the model's `WeightStore`, referenced by name.

        %w = dnn.weight "layer1.0.conv1.weight" : tensor<64x64x3x3xf32>
    """

    name = "dnn.weight"

    sym = prop_def(StringAttr)
    output = result_def(TensorType)

    assembly_format = "$sym attr-dict `:` type($output)"
    traits = traits_def(Pure())

    def __init__(self, name: str, result_type: TensorType):
        super().__init__(properties={"sym": StringAttr(name)}, result_types=[result_type])

    def verify_(self) -> None:
        if not self.sym.data:
            raise VerifyException("weight name must not be empty")


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A small inline tensor, for tests and folded shape arithmetic.

        %c = dnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
    """

    name = "dnn.constant"

    value = prop_def(DenseIntOrFPElementsAttr)
    output = result_def(TensorType)

    traits = traits_def(Pure())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error(f"expected a dense elements attribute, got {value}")
        op = cls(value)
        op.attributes.update(parser.parse_optional_attr_dict())
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.value.type != self.output.type:
            raise VerifyException(f"value type {self.value.type} != result type {self.output.type}")


# ------------------------------------------------------------------------------ convolution


@irdl_op_definition
class Conv2dOp(IRDLOperation):
    """2-D convolution (ONNX Conv): NCHW input, OIHW weight, optional bias [O].

    `pads` are [top, left, bottom, right] (ONNX order), `group` > 1 is grouped convolution and
    `group` == C_in == C_out is depthwise.

        %y = dnn.conv2d %x, %w, %b strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
               act #dnn.act<relu> : (tensor<1x3x224x224xf32>, ...) -> tensor<1x64x112x112xf32>

    On int8 fixed-point tensors the weight is i8, the bias i32 and `shift` (one entry, or one
    per output channel) is the requantization shift (docs/quantization.md):

        %y = dnn.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
               act #dnn.act<relu> shift [9, 10, 9, 8] : (tensor<1x3x8x8xi8, #dnn.fixed<5>>,
               tensor<4x3x3x3xi8>, tensor<4xi32>) -> tensor<1x4x8x8xi8, #dnn.fixed<4>>
    """

    name = "dnn.conv2d"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)

    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64])
    group = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, 64))
    act = opt_prop_def(ActivationAttr)
    shift = opt_prop_def(DenseArrayBase[I64])
    mul = opt_prop_def(DenseArrayBase[I64])

    assembly_format = (
        "$input `,` $weight (`,` $bias^)? `strides` $strides `pads` $pads "
        "`dilations` $dilations (`group` $group^)? (`act` qualified($act)^)? "
        "(`shift` $shift^)? (`mul` $mul^)? attr-dict `:` "
        "`(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None = None,
        *,
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
        group: int = 1,
        act: ActivationAttr | None = None,
        shift: Sequence[int] | None = None,
        mul: Sequence[int] | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8: the output's exponent)."""
        x, w = SSAValue.get(input), SSAValue.get(weight)
        shape = conv2d_shape(shape_of(x), shape_of(w), strides, pads, dilations)
        super().__init__(
            operands=[x, w, bias],
            result_types=[result_type or _tensor_like(x, shape)],
            properties={
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "dilations": i64_array(dilations),
                "group": IntegerAttr(group, 64),
                "act": act,
                "shift": None if shift is None else i64_array(shift),
                "mul": None if mul is None else i64_array(mul),
            },
        )

    @property
    def groups(self) -> int:
        return self.group.value.data

    def verify_(self) -> None:
        x, w = shape_of(self.input), shape_of(self.weight)
        if len(x) != 4 or len(w) != 4:
            raise VerifyException(f"expected 4-D input and weight, got ranks {len(x)} and {len(w)}")
        _check_len(self.name, "strides", ints(self.strides), 2, True)
        _check_len(self.name, "pads", ints(self.pads), 4, False)
        _check_len(self.name, "dilations", ints(self.dilations), 2, True)
        g = self.groups
        if g < 1:
            raise VerifyException(f"group must be positive, got {g}")
        if x[1] != w[1] * g:
            raise VerifyException(
                f"input channels ({x[1]}) != weight channels ({w[1]}) * group ({g})"
            )
        if w[0] % g:
            raise VerifyException(f"output channels ({w[0]}) not divisible by group ({g})")
        if self.bias is not None and shape_of(self.bias) != (w[0],):
            raise VerifyException(
                f"bias must have shape [{w[0]}] (output channels), got {list(shape_of(self.bias))}"
            )
        _expect_type(
            self,
            conv2d_shape(x, w, ints(self.strides), ints(self.pads), ints(self.dilations)),
        )
        fracs = _fixed_fracs([self.input, self.output])
        if fracs is None:
            _no_int8_props(self, ["shift", "mul"])
        else:
            _verify_accumulating(self, w[0], fracs[-1])


def conv2d_shape(
    x: Shape, w: Shape, strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int]
) -> Shape:
    if len(x) != 4 or len(w) != 4:
        raise VerifyException(f"expected 4-D input and weight, got ranks {len(x)} and {len(w)}")
    _check_len("dnn.conv2d", "strides", strides, 2, True)
    _check_len("dnn.conv2d", "pads", pads, 4, False)
    _check_len("dnn.conv2d", "dilations", dilations, 2, True)
    oh = window_out_dim(x[2], w[2], strides[0], pads[0], pads[2], dilations[0])
    ow = window_out_dim(x[3], w[3], strides[1], pads[1], pads[3], dilations[1])
    if oh < 1 or ow < 1:
        raise VerifyException(f"convolution window larger than padded input {list(x)}")
    return (x[0], w[0], oh, ow)


# --------------------------------------------------------------------------------- pooling


@irdl_op_definition
class Pool2dOp(IRDLOperation):
    """Max or average pooling over windows (ONNX MaxPool / AveragePool), NCHW.

    `pads` are [top, left, bottom, right]; `ceil_mode` rounds the output size up;
    `count_include_pad` (average only) divides by the full window including padding.

        %y = dnn.pool2d max %x kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
               : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>

    On int8 fixed-point tensors max pooling keeps the exponent; average pooling multiplies
    the window sum by `avg_mul` = round(2**(avg_shift + Fy - Fx) / window) and shifts right by
    `avg_shift`:

        %y = dnn.pool2d avg %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
               avg_mul 16384 avg_shift 16 : tensor<1x8x8x8xi8, #dnn.fixed<4>>
               -> tensor<1x8x4x4xi8, #dnn.fixed<4>>
    """

    name = "dnn.pool2d"

    kind = prop_def(PoolKindAttr)
    input = operand_def(TensorType)
    output = result_def(TensorType)

    kernel = prop_def(DenseArrayBase[I64])
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64], default_value=i64_array((1, 1)))
    ceil_mode = opt_prop_def(UnitAttr)
    count_include_pad = opt_prop_def(UnitAttr)
    avg_mul = opt_prop_def(IntegerAttr[I64])
    avg_shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$kind $input `kernel` $kernel `strides` $strides `pads` $pads "
        "(`dilations` $dilations^)? (`ceil_mode` $ceil_mode^)? "
        "(`count_include_pad` $count_include_pad^)? (`avg_mul` $avg_mul^)? "
        "(`avg_shift` $avg_shift^)? attr-dict `:` type($input) `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        kind: PoolKind,
        input: SSAValue | Operation,
        *,
        kernel: Sequence[int],
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
        ceil_mode: bool = False,
        count_include_pad: bool = False,
        avg_mul: int | None = None,
        avg_shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8 average: the output's exponent)."""
        x = SSAValue.get(input)
        shape = pool2d_shape(shape_of(x), kernel, strides, pads, dilations, ceil_mode)
        super().__init__(
            operands=[x],
            result_types=[result_type or _tensor_like(x, shape)],
            properties={
                "kind": PoolKindAttr(kind),
                "kernel": i64_array(kernel),
                "strides": i64_array(strides),
                "pads": i64_array(pads),
                "dilations": i64_array(dilations),
                "ceil_mode": UnitAttr() if ceil_mode else None,
                "count_include_pad": UnitAttr() if count_include_pad else None,
                "avg_mul": None if avg_mul is None else IntegerAttr(avg_mul, 64),
                "avg_shift": None if avg_shift is None else IntegerAttr(avg_shift, 64),
            },
        )

    def verify_(self) -> None:
        x = shape_of(self.input)
        _check_len(self.name, "kernel", ints(self.kernel), 2, True)
        _check_len(self.name, "strides", ints(self.strides), 2, True)
        _check_len(self.name, "pads", ints(self.pads), 4, False)
        _check_len(self.name, "dilations", ints(self.dilations), 2, True)
        k, p = ints(self.kernel), ints(self.pads)
        if p[0] >= k[0] or p[2] >= k[0] or p[1] >= k[1] or p[3] >= k[1]:
            raise VerifyException(f"pads {list(p)} must be smaller than the kernel {list(k)}")
        if self.count_include_pad is not None and self.kind.data != PoolKind.AVG:
            raise VerifyException("'count_include_pad' applies to average pooling only")
        shape = pool2d_shape(
            x, k, ints(self.strides), p, ints(self.dilations), self.ceil_mode is not None
        )
        _expect_type(self, shape)
        self._verify_int8()

    def ceil_extension(self) -> tuple[int, int]:
        """Rows and columns that ceil_mode adds below and right of `pads` so that the last
        window fits (0, 0 when the declared output needs none)."""
        h, w = shape_of(self.input)[2:]
        oh, ow = shape_of(self.output)[2:]
        k, st, d, p = ints(self.kernel), ints(self.strides), ints(self.dilations), ints(self.pads)
        need_h = (oh - 1) * st[0] + d[0] * (k[0] - 1) + 1
        need_w = (ow - 1) * st[1] + d[1] * (k[1] - 1) + 1
        return max(0, need_h - (h + p[0] + p[2])), max(0, need_w - (w + p[1] + p[3]))

    def _verify_int8(self) -> None:
        names = ["avg_mul", "avg_shift"]
        if (fracs := _fixed_fracs([self.input, self.output])) is None:
            _no_int8_props(self, names)
            return
        if self.kind.data == PoolKind.MAX:
            _same_frac(self, [self.input, self.output])
            _no_int8_props(self, names, "int8 average pooling")  # max pooling is exact
            return
        if any(ints(self.pads)) and self.count_include_pad is None:
            raise VerifyException(
                "int8 average pooling divides by the whole window: padding must count "
                "(count_include_pad) or pads must be 0"
            )
        if self.ceil_extension() != (0, 0):
            raise VerifyException(
                "int8 average pooling divides by the whole window, which a ceil_mode window "
                "reaching past the padding does not cover"
            )
        k = ints(self.kernel)
        _verify_int8_avg(self, k[0] * k[1], *fracs)


def pool2d_shape(
    x: Shape,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool,
) -> Shape:
    if len(x) != 4:
        raise VerifyException(f"expected a 4-D input, got rank {len(x)}")
    _check_len("dnn.pool2d", "kernel", kernel, 2, True)
    _check_len("dnn.pool2d", "strides", strides, 2, True)
    _check_len("dnn.pool2d", "pads", pads, 4, False)
    _check_len("dnn.pool2d", "dilations", dilations, 2, True)
    oh = window_out_dim(x[2], kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    ow = window_out_dim(x[3], kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise VerifyException(f"pooling window larger than padded input {list(x)}")
    return (x[0], x[1], oh, ow)


@irdl_op_definition
class GlobalPoolOp(IRDLOperation):
    """Global max or average pooling over all spatial positions: [N, C, ...] -> [N, C, 1, ...].

        %y = dnn.global_pool avg %x : tensor<1x2048x7x7xf32> -> tensor<1x2048x1x1xf32>

    On int8 fixed-point tensors, average pooling takes `avg_mul` and `avg_shift` as pool2d does
    (the window is every spatial position):

        %y = dnn.global_pool avg %x avg_mul 42799 avg_shift 18
               : tensor<1x512x7x7xi8, #dnn.fixed<3>> -> tensor<1x512x1x1xi8, #dnn.fixed<6>>
    """

    name = "dnn.global_pool"

    kind = prop_def(PoolKindAttr)
    input = operand_def(TensorType)
    output = result_def(TensorType)
    avg_mul = opt_prop_def(IntegerAttr[I64])
    avg_shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$kind $input (`avg_mul` $avg_mul^)? (`avg_shift` $avg_shift^)? attr-dict `:` "
        "type($input) `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        kind: PoolKind,
        input: SSAValue | Operation,
        *,
        avg_mul: int | None = None,
        avg_shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8 average: the output's exponent)."""
        x = SSAValue.get(input)
        s = shape_of(x)
        super().__init__(
            operands=[x],
            result_types=[result_type or _tensor_like(x, s[:2] + (1,) * (len(s) - 2))],
            properties={
                "kind": PoolKindAttr(kind),
                "avg_mul": None if avg_mul is None else IntegerAttr(avg_mul, 64),
                "avg_shift": None if avg_shift is None else IntegerAttr(avg_shift, 64),
            },
        )

    def verify_(self) -> None:
        s = shape_of(self.input)
        if len(s) < 3:
            raise VerifyException(f"expected an input of rank >= 3, got rank {len(s)}")
        _expect_type(self, s[:2] + (1,) * (len(s) - 2))
        names = ["avg_mul", "avg_shift"]
        if (fracs := _fixed_fracs([self.input, self.output])) is None:
            _no_int8_props(self, names)
            return
        if self.kind.data == PoolKind.MAX:
            _same_frac(self, [self.input, self.output])
            _no_int8_props(self, names, "int8 average pooling")
        else:
            _verify_int8_avg(self, prod(s[2:]), *fracs)


# ------------------------------------------------------------------------- dense / matmul


@irdl_op_definition
class DenseOp(IRDLOperation):
    """Fully connected layer (ONNX Gemm): `alpha * A' @ B' + beta * C`, with A' = A^T if
    `trans_a`, B' = B^T if `trans_b`. `C` (the bias) broadcasts to [M, N].

        %y = dnn.dense %x, %w, %b trans_b act #dnn.act<relu>
               : (tensor<1x512xf32>, tensor<1000x512xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>

    On int8 fixed-point tensors (alpha = beta = 1, no trans_a, bias [N]) the weight is i8, the
    bias i32 and `shift` the requantization shift, one entry or one per output (N):

        %y = dnn.dense %x, %w, %b trans_b shift [12] : (tensor<1x512xi8, #dnn.fixed<3>>,
               tensor<1000x512xi8>, tensor<1000xi32>) -> tensor<1x1000xi8, #dnn.fixed<2>>
    """

    name = "dnn.dense"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)

    trans_a = opt_prop_def(UnitAttr)
    trans_b = opt_prop_def(UnitAttr)
    alpha = prop_def(FloatAttr[Float64Type], default_value=f64_attr(1.0))
    beta = prop_def(FloatAttr[Float64Type], default_value=f64_attr(1.0))
    act = opt_prop_def(ActivationAttr)
    shift = opt_prop_def(DenseArrayBase[I64])
    mul = opt_prop_def(DenseArrayBase[I64])

    assembly_format = (
        "$input `,` $weight (`,` $bias^)? (`trans_a` $trans_a^)? (`trans_b` $trans_b^)? "
        "(`alpha` $alpha^)? (`beta` $beta^)? (`act` qualified($act)^)? (`shift` $shift^)? "
        "(`mul` $mul^)? attr-dict `:` "
        "`(` type($input) `,` type($weight) (`,` type($bias)^)? `)` `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None = None,
        *,
        trans_a: bool = False,
        trans_b: bool = False,
        alpha: float = 1.0,
        beta: float = 1.0,
        act: ActivationAttr | None = None,
        shift: Sequence[int] | None = None,
        mul: Sequence[int] | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8: the output's exponent)."""
        a, b = SSAValue.get(input), SSAValue.get(weight)
        shape = dense_shape(shape_of(a), shape_of(b), trans_a, trans_b)
        super().__init__(
            operands=[a, b, bias],
            result_types=[result_type or _tensor_like(a, shape)],
            properties={
                "trans_a": UnitAttr() if trans_a else None,
                "trans_b": UnitAttr() if trans_b else None,
                "alpha": f64_attr(alpha),
                "beta": f64_attr(beta),
                "act": act,
                "shift": None if shift is None else i64_array(shift),
                "mul": None if mul is None else i64_array(mul),
            },
        )

    def verify_(self) -> None:
        shape = dense_shape(
            shape_of(self.input),
            shape_of(self.weight),
            self.trans_a is not None,
            self.trans_b is not None,
        )
        if self.bias is not None and broadcast_shapes(shape_of(self.bias), shape) != shape:
            raise VerifyException(
                f"bias of shape {list(shape_of(self.bias))} does not broadcast to {list(shape)}"
            )
        _expect_type(self, shape)
        fracs = _fixed_fracs([self.input, self.output])
        if fracs is None:
            _no_int8_props(self, ["shift", "mul"])
            return
        if self.trans_a is not None or self.alpha.value.data != 1 or self.beta.value.data != 1:
            raise VerifyException(
                "int8 fixed-point dnn.dense computes x @ W + b: no trans_a, alpha = beta = 1 "
                "(the quantizer folds them into the weights)"
            )
        if self.bias is not None and shape_of(self.bias) != (shape[1],):
            raise VerifyException(
                f"int8 fixed-point dnn.dense needs a bias of shape [{shape[1]}], "
                f"got {list(shape_of(self.bias))}"
            )
        _verify_accumulating(self, shape[1], fracs[-1])


def dense_shape(a: Shape, b: Shape, trans_a: bool, trans_b: bool) -> Shape:
    if len(a) != 2 or len(b) != 2:
        raise VerifyException(f"expected 2-D operands, got ranks {len(a)} and {len(b)}")
    m, k = (a[1], a[0]) if trans_a else a
    k2, n = (b[1], b[0]) if trans_b else b
    if k != k2:
        raise VerifyException(f"inner dimensions differ: {k} != {k2}")
    return (m, n)


@irdl_op_definition
class MatMulOp(IRDLOperation):
    """Matrix product with numpy semantics (ONNX MatMul): batched, broadcast, 1-D promoted.

        %y = dnn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>

    On int8 fixed-point tensors (both operands activations, as Q·K^T and attention·V) the
    product accumulates exactly and `shift` = Fa + Fb - Fy requantizes it:

        %y = dnn.matmul %a, %b shift 9 : (tensor<2x3x4xi8, #dnn.fixed<5>>,
               tensor<2x4x5xi8, #dnn.fixed<6>>) -> tensor<2x3x5xi8, #dnn.fixed<2>>
    """

    name = "dnn.matmul"

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$lhs `,` $rhs (`shift` $shift^)? attr-dict `:` `(` type($lhs) `,` type($rhs) `)` "
        "`->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        *,
        shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8: the output's exponent)."""
        a, b = SSAValue.get(lhs), SSAValue.get(rhs)
        shape = matmul_shape(shape_of(a), shape_of(b))
        super().__init__(
            operands=[a, b],
            result_types=[result_type or _tensor_like(a, shape)],
            properties={} if shift is None else {"shift": IntegerAttr(shift, 64)},
        )

    def verify_(self) -> None:
        _expect_type(self, matmul_shape(shape_of(self.lhs), shape_of(self.rhs)))
        fracs = _fixed_fracs([self.lhs, self.rhs, self.output])
        if fracs is None:
            _no_int8_props(self, ["shift"])
            return
        _require_props(self, ["shift"])
        _symmetric(self, [self.lhs, self.rhs, self.output])
        fa, fb, fy = fracs
        shift = _int_prop(self.shift)
        _in_range("shift", shift, 0, SHIFT_MAX)
        if fa + fb != fy + shift:
            raise VerifyException(
                f"int8 fixed-point dnn.matmul needs Fa + Fb == Fy + shift, got "
                f"{fa} + {fb} != {fy} + {shift}"
            )


def matmul_shape(a: Shape, b: Shape) -> Shape:
    if not a or not b:
        raise VerifyException("matmul operands must have rank >= 1")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise VerifyException(f"inner dimensions differ: {a2[-1]} != {b2[-2]}")
    out = (*broadcast_shapes(a2[:-2], b2[:-2]), a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


# ------------------------------------------------------------------------------ eltwise


class _BinaryEltwise(IRDLOperation):
    """Binary elementwise op with numpy broadcasting."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)

    assembly_format = (
        "$lhs `,` $rhs attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(self, lhs: SSAValue | Operation, rhs: SSAValue | Operation):
        a, b = SSAValue.get(lhs), SSAValue.get(rhs)
        shape = broadcast_shapes(shape_of(a), shape_of(b))
        super().__init__(operands=[a, b], result_types=[_tensor_like(a, shape)])

    def verify_(self) -> None:
        _expect_type(self, broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs)))


@irdl_op_definition
class AddOp(IRDLOperation):
    """Elementwise addition with broadcasting (ONNX Add); may carry a fused activation, which
    is how residual blocks end (`add` then `relu`).

        %y = dnn.add %a, %b act #dnn.act<relu> : (tensor<1x64x8x8xf32>, tensor<1x64x8x8xf32>)
               -> tensor<1x64x8x8xf32>

    On int8 fixed-point tensors (equal shapes, or rhs a per-channel vector [1, C, 1, 1] of
    the image lhs) the inputs are aligned by left shifts
    `shift_a` / `shift_b` (absent: 0) and the sum requantized by `shift`, with
    Fa + shift_a = Fb + shift_b = Fy + shift:

        %y = dnn.add %a, %b act #dnn.act<relu> shift_b 1 shift 1
               : (tensor<4xi8, #dnn.fixed<5>>, tensor<4xi8, #dnn.fixed<4>>)
               -> tensor<4xi8, #dnn.fixed<4>>
    """

    name = "dnn.add"

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    output = result_def(TensorType)
    act = opt_prop_def(ActivationAttr)
    shift_a = opt_prop_def(IntegerAttr[I64])
    shift_b = opt_prop_def(IntegerAttr[I64])
    shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$lhs `,` $rhs (`act` qualified($act)^)? (`shift_a` $shift_a^)? (`shift_b` $shift_b^)? "
        "(`shift` $shift^)? attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        act: ActivationAttr | None = None,
        *,
        shift_a: int | None = None,
        shift_b: int | None = None,
        shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8: the output's exponent)."""
        a, b = SSAValue.get(lhs), SSAValue.get(rhs)
        shape = broadcast_shapes(shape_of(a), shape_of(b))
        super().__init__(
            operands=[a, b],
            result_types=[result_type or _tensor_like(a, shape)],
            properties={"act": act, **_shift_props(shift_a, shift_b, shift)},
        )

    def verify_(self) -> None:
        _expect_type(self, broadcast_shapes(shape_of(self.lhs), shape_of(self.rhs)))
        if (fracs := _verify_int8_eltwise(self)) is None:
            return
        (fa, fb, fy), (sa, sb, s) = fracs, _shifts(self)
        if not fa + sa == fb + sb == fy + s:
            raise VerifyException(
                "int8 fixed-point dnn.add needs Fa + shift_a == Fb + shift_b == Fy + shift, got "
                f"{fa} + {sa}, {fb} + {sb}, {fy} + {s}"
            )
        _verify_int8_act(self.act, fy)


def _shift_props(
    shift_a: int | None, shift_b: int | None, shift: int | None
) -> dict[str, Attribute | None]:
    return {
        name: None if v is None else IntegerAttr(v, 64)
        for name, v in (("shift_a", shift_a), ("shift_b", shift_b), ("shift", shift))
    }


def _shifts(op: AddOp | MulOp) -> tuple[int, int, int]:
    return _int_prop(op.shift_a), _int_prop(op.shift_b), _int_prop(op.shift)


def _verify_int8_eltwise(op: AddOp | MulOp) -> list[int] | None:
    """Shared int8 checks of add and mul: equal shapes (or rhs a per-channel vector of an
    image), `shift` present, shifts in range. Returns [Fa, Fb, Fy], or None for the float
    form."""
    fracs = _fixed_fracs([op.lhs, op.rhs, op.output])
    if fracs is None:
        _no_int8_props(op, ["shift_a", "shift_b", "shift"])
        return None
    shapes = [shape_of(v) for v in (op.lhs, op.rhs, op.output)]
    if not int8_eltwise_shapes(*shapes):
        raise VerifyException(
            f"int8 fixed-point {op.name} needs equal shapes (or rhs [1, C, 1, 1] of an image), "
            f"got {[list(s) for s in shapes]}"
        )
    _require_props(op, ["shift"])
    for name, value in zip(("shift_a", "shift_b", "shift"), _shifts(op), strict=True):
        _in_range(name, value, 0, SHIFT_MAX)
    return fracs


@irdl_op_definition
class SubOp(_BinaryEltwise):
    """Elementwise subtraction with broadcasting (ONNX Sub)."""

    name = "dnn.sub"


@irdl_op_definition
class MulOp(_BinaryEltwise):
    """Elementwise product with broadcasting (ONNX Mul).

    On int8 fixed-point tensors (equal shapes, or rhs [1, C, 1, 1] of an image):
    acc = (a << shift_a) * (b << shift_b) (absent shifts are 0), requantized by `shift`, with
    Fa + shift_a + Fb + shift_b = Fy + shift:

        %y = dnn.mul %a, %b shift 7 : (tensor<4xi8, #dnn.fixed<6>>,
               tensor<4xi8, #dnn.fixed<7>>) -> tensor<4xi8, #dnn.fixed<6>>
    """

    name = "dnn.mul"

    shift_a = opt_prop_def(IntegerAttr[I64])
    shift_b = opt_prop_def(IntegerAttr[I64])
    shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$lhs `,` $rhs (`shift_a` $shift_a^)? (`shift_b` $shift_b^)? (`shift` $shift^)? "
        "attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($output)"
    )

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        *,
        shift_a: int | None = None,
        shift_b: int | None = None,
        shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        """`result_type` overrides the inferred one (int8: the output's exponent)."""
        a, b = SSAValue.get(lhs), SSAValue.get(rhs)
        shape = broadcast_shapes(shape_of(a), shape_of(b))
        IRDLOperation.__init__(
            self,
            operands=[a, b],
            result_types=[result_type or _tensor_like(a, shape)],
            properties=_shift_props(shift_a, shift_b, shift),
        )

    def verify_(self) -> None:
        super().verify_()
        if (fracs := _verify_int8_eltwise(self)) is None:
            return
        (fa, fb, fy), (sa, sb, s) = fracs, _shifts(self)
        if fa + sa + fb + sb != fy + s:
            raise VerifyException(
                "int8 fixed-point dnn.mul needs Fa + shift_a + Fb + shift_b == Fy + shift, got "
                f"{fa} + {sa} + {fb} + {sb} != {fy} + {s}"
            )


@irdl_op_definition
class DivOp(_BinaryEltwise):
    """Elementwise quotient with broadcasting (ONNX Div)."""

    name = "dnn.div"


@irdl_op_definition
class SumOp(IRDLOperation):
    """Elementwise sum of one or more tensors with broadcasting (ONNX Sum).

        %y = dnn.sum %a, %b, %c : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    """

    name = "dnn.sum"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)

    assembly_format = "$inputs attr-dict `:` `(` type($inputs) `)` `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, inputs: Sequence[SSAValue | Operation]):
        values = [SSAValue.get(v) for v in inputs]
        shape = broadcast_shapes(*(shape_of(v) for v in values))
        super().__init__(operands=[values], result_types=[_tensor_like(values[0], shape)])

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("dnn.sum needs at least one input")
        _expect_type(self, broadcast_shapes(*(shape_of(v) for v in self.inputs)))


# -------------------------------------------------------------------------- activations


class _Unary(IRDLOperation):
    """Shape-preserving unary op. On int8 fixed-point tensors (relu, clip) the type, hence the
    exponent, is kept: the op is exact on the int8 values (docs/quantization.md)."""

    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    output = result_def(T)

    assembly_format = "$input attr-dict `:` type($input)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation):
        x = SSAValue.get(input)
        super().__init__(operands=[x], result_types=[x.type])

    def verify_(self) -> None:
        if self.input.type != self.output.type:
            raise VerifyException(
                f"result type {self.output.type} differs from input type {self.input.type}"
            )
        _fixed_fracs([self.input, self.output])

    def activation(self) -> ActivationAttr:
        """The fused-activation attribute with the same meaning as this op."""
        return ActivationAttr(self.name.removeprefix("dnn."))


@irdl_op_definition
class ReluOp(_Unary):
    """max(x, 0) (ONNX Relu)."""

    name = "dnn.relu"


def _verify_int8_unary(op: Operation, fracs: Sequence[int], fields: str) -> None:
    """An int8 unary op (one operand, one result) keeps its input's shape, and its exponents
    fit the ISA's signed exponent fields (`fields` names them in the message)."""
    x, y = op.operands[0], op.results[0]
    if shape_of(x) != shape_of(y):
        raise VerifyException(
            f"result shape {list(shape_of(y))} differs from input shape {list(shape_of(x))}"
        )
    for f in fracs:
        if not LUT_FRAC_MIN <= f <= LUT_FRAC_MAX:
            raise VerifyException(
                f"int8 fixed-point {op.name} needs exponents in "
                f"{LUT_FRAC_MIN}..{LUT_FRAC_MAX}{fields}, got {f}"
            )


class _LookupUnary(_Unary):
    """sigmoid / tanh / hard-swish / hard-sigmoid: on int8 fixed-point tensors a 256-entry
    lookup table (the ISA's ACT),
    whose output has its own exponent. The float form prints one type as every unary op
    does; an int8 form whose exponents differ prints both:

        %y = dnn.sigmoid %x : tensor<4xf32>
        %y = dnn.sigmoid %x : tensor<4xi8, #dnn.fixed<4>> -> tensor<4xi8, #dnn.fixed<7>>
    """

    input = operand_def(TensorType)
    output = result_def(TensorType)

    assembly_format = None

    def __init__(self, input: SSAValue | Operation, result_type: TensorType | None = None):
        x = SSAValue.get(input)
        IRDLOperation.__init__(self, operands=[x], result_types=[result_type or x.type])

    @classmethod
    def parse(cls, parser: Parser) -> _LookupUnary:
        x = parser.parse_unresolved_operand()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        in_type = parser.parse_type()
        out_type = parser.parse_type() if parser.parse_optional_punctuation("->") else in_type
        op = cls.create(operands=[parser.resolve_operand(x, in_type)], result_types=[out_type])
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.input.type)
        if self.output.type != self.input.type:
            printer.print_string(" -> ")
            printer.print_attribute(self.output.type)

    def verify_(self) -> None:
        fracs = _fixed_fracs([self.input, self.output])
        if fracs is None:
            if self.input.type != self.output.type:
                # The float form keeps the message of the other unary ops' type variable.
                raise VerifyException(
                    f"attribute {self.input.type} expected from variable 'T', "
                    f"but got {self.output.type}"
                )
            return
        _verify_int8_unary(self, fracs, " (ACT in_frac/out_frac)")


@irdl_op_definition
class SigmoidOp(_LookupUnary):
    """1 / (1 + exp(-x)) (ONNX Sigmoid)."""

    name = "dnn.sigmoid"


@irdl_op_definition
class TanhOp(_LookupUnary):
    """tanh(x) (ONNX Tanh)."""

    name = "dnn.tanh"


@irdl_op_definition
class HardSwishOp(_LookupUnary):
    """x * relu6(x + 3) / 6 (ONNX HardSwish)."""

    name = "dnn.hardswish"


@irdl_op_definition
class SiluOp(_LookupUnary):
    """x * sigmoid(x) (SiLU, swish). PyTorch exports it as a Sigmoid and a Mul, which
    `dnn-canonicalize` joins into one lookup table."""

    name = "dnn.silu"


@irdl_op_definition
class HardSigmoidOp(_LookupUnary):
    """relu6(x + 3) / 6 (ONNX HardSigmoid with PyTorch's alpha 1/6, beta 1/2)."""

    name = "dnn.hardsigmoid"


@irdl_op_definition
class ClipOp(_Unary):
    """min(max(x, lo), hi) (ONNX Clip with constant bounds; ReLU6 is `clip 0.0 6.0`).

        %y = dnn.clip %x lo 0.0 hi 6.0 : tensor<1x32x56x56xf32>
    """

    name = "dnn.clip"

    lo = prop_def(FloatAttr[Float64Type])
    hi = prop_def(FloatAttr[Float64Type])

    assembly_format = "$input `lo` $lo `hi` $hi attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation, lo: float, hi: float):
        x = SSAValue.get(input)
        IRDLOperation.__init__(
            self,
            operands=[x],
            result_types=[x.type],
            properties={"lo": f64_attr(lo), "hi": f64_attr(hi)},
        )

    def verify_(self) -> None:
        super().verify_()
        if self.lo.value.data > self.hi.value.data:
            raise VerifyException(
                "clip bounds must satisfy lo <= hi, "
                f"got {self.lo.value.data} > {self.hi.value.data}"
            )

    def activation(self) -> ActivationAttr:
        return ActivationAttr(ActKind.CLIP, (self.lo.value.data, self.hi.value.data))


@irdl_op_definition
class LeakyReluOp(_Unary):
    """x if x >= 0 else alpha * x (ONNX LeakyRelu).

        %y = dnn.leaky_relu %x alpha 0.1 : tensor<4xf32>
    """

    name = "dnn.leaky_relu"

    alpha = prop_def(FloatAttr[Float64Type])

    assembly_format = "$input `alpha` $alpha attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation, alpha: float = 0.01):
        x = SSAValue.get(input)
        IRDLOperation.__init__(
            self, operands=[x], result_types=[x.type], properties={"alpha": f64_attr(alpha)}
        )

    def activation(self) -> ActivationAttr:
        return ActivationAttr(ActKind.LEAKY_RELU, (self.alpha.value.data,))


ACTIVATION_OPS: tuple[type[_Unary], ...] = (ReluOp, SigmoidOp, TanhOp, ClipOp, LeakyReluOp)


class _RequantUnary(IRDLOperation):
    """A shape-preserving op whose int8 form has its own output exponent: the float form
    prints one type, an int8 form whose exponents differ prints both (`-> type`)."""

    input = operand_def(TensorType)
    output = result_def(TensorType)

    traits = traits_def(Pure())
    INT_PROPS: ClassVar[tuple[str, ...]] = ()
    """The integer properties printed after the operand (`axis 1`), in order."""

    @classmethod
    def parse(cls, parser: Parser) -> _RequantUnary:
        x = parser.parse_unresolved_operand()
        props: dict[str, Attribute] = {}
        for key in cls.INT_PROPS:
            parser.parse_keyword(key)
            props[key] = IntegerAttr(parser.parse_integer(), 64)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        in_type = parser.parse_type()
        out_type = parser.parse_type() if parser.parse_optional_punctuation("->") else in_type
        op = cls.create(
            operands=[parser.resolve_operand(x, in_type)],
            result_types=[out_type],
            properties=props,
        )
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        for key in self.INT_PROPS:
            attr = self.properties[key]
            assert isinstance(attr, IntegerAttr)
            printer.print_string(f" {key} {attr.value.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.input.type)
        if self.output.type != self.input.type:
            printer.print_string(" -> ")
            printer.print_attribute(self.output.type)

    def _verify_types(self) -> list[int] | None:
        """The int8 exponents (None for the float form), checked: same shape, and exponents
        within the ISA's signed 6-bit exponent fields."""
        fracs = _fixed_fracs([self.input, self.output])
        if fracs is None:
            if self.input.type != self.output.type:
                raise VerifyException(
                    f"result type {self.output.type} differs from input type {self.input.type}"
                )
            return None
        _symmetric(self, [self.input, self.output])
        _verify_int8_unary(self, fracs, "")
        return fracs


@irdl_op_definition
class SoftmaxOp(_RequantUnary):
    """softmax along one axis (ONNX Softmax, opset >= 13 semantics).

        %y = dnn.softmax %x axis 1 : tensor<1x1000xf32>

    On int8 fixed-point tensors (the last axis only) the integer softmax of
    docs/quantization.md ("Transformers"), with its own output exponent:

        %y = dnn.softmax %x axis -1
               : tensor<4x16xi8, #dnn.fixed<4>> -> tensor<4x16xi8, #dnn.fixed<7>>
    """

    name = "dnn.softmax"

    axis = prop_def(IntegerAttr[I64])
    INT_PROPS: ClassVar[tuple[str, ...]] = ("axis",)

    def __init__(
        self, input: SSAValue | Operation, axis: int = -1, result_type: TensorType | None = None
    ):
        x = SSAValue.get(input)
        IRDLOperation.__init__(
            self,
            operands=[x],
            result_types=[result_type or x.type],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    def verify_(self) -> None:
        rank = len(shape_of(self.input))
        axis = _normalize_axis(self.axis.value.data, rank)
        if self._verify_types() is not None and axis != rank - 1:
            raise VerifyException(
                f"int8 fixed-point dnn.softmax works along the last axis, got axis {axis}"
            )


@irdl_op_definition
class GeluOp(_RequantUnary):
    """x * (1 + erf(x / sqrt(2))) / 2 (ONNX Gelu, approximate "none").

        %y = dnn.gelu %x : tensor<2x8xf32>

    On int8 fixed-point tensors I-BERT's integer GELU (docs/quantization.md, "Transformers"),
    with its own output exponent:

        %y = dnn.gelu %x : tensor<2x8xi8, #dnn.fixed<4>> -> tensor<2x8xi8, #dnn.fixed<5>>
    """

    name = "dnn.gelu"

    def __init__(self, input: SSAValue | Operation, result_type: TensorType | None = None):
        x = SSAValue.get(input)
        IRDLOperation.__init__(self, operands=[x], result_types=[result_type or x.type])

    def verify_(self) -> None:
        self._verify_types()


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """Layer normalization (ONNX LayerNormalization, inference): over the axes from `axis` to
    the last, y = (x - mean) / sqrt(var + epsilon) * scale + bias; scale and bias broadcast
    to the normalized shape.

        %y = dnn.layer_norm %x, %g, %b axis -1 epsilon 1.0e-05
               : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x64xf32>

    On int8 fixed-point tensors the integer LayerNorm of docs/quantization.md
    ("Transformers"): an i8 scale of the normalized shape, an i32 bias at exponent
    LN_FRAC + Fg, and `shift` = LN_FRAC + Fg - Fy:

        %y = dnn.layer_norm %x, %g, %b axis -1 epsilon 1.0e-05 shift 15
               : (tensor<8x64xi8, #dnn.fixed<4>>, tensor<64xi8>, tensor<64xi32>)
               -> tensor<8x64xi8, #dnn.fixed<4>>
    """

    name = "dnn.layer_norm"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    output = result_def(TensorType)

    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(-1, 64))
    epsilon = prop_def(FloatAttr[Float64Type], default_value=f64_attr(1e-5))
    shift = opt_prop_def(IntegerAttr[I64])

    assembly_format = (
        "$input `,` $scale (`,` $bias^)? (`axis` $axis^)? (`epsilon` $epsilon^)? "
        "(`shift` $shift^)? attr-dict `:` "
        "`(` type($input) `,` type($scale) (`,` type($bias)^)? `)` `->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        scale: SSAValue | Operation,
        bias: SSAValue | Operation | None = None,
        *,
        axis: int = -1,
        epsilon: float = 1e-5,
        shift: int | None = None,
        result_type: TensorType | None = None,
    ):
        x = SSAValue.get(input)
        super().__init__(
            operands=[x, scale, bias],
            result_types=[result_type or x.type],
            properties={
                "axis": IntegerAttr(axis, 64),
                "epsilon": f64_attr(epsilon),
                "shift": None if shift is None else IntegerAttr(shift, 64),
            },
        )

    def normalized_shape(self) -> Shape:
        """The shape of the axes normalized together (from `axis` to the last)."""
        x = shape_of(self.input)
        return x[_normalize_axis(self.axis.value.data, len(x)) :]

    def verify_(self) -> None:
        x, norm = shape_of(self.input), self.normalized_shape()
        for name in ("scale", "bias"):
            v = getattr(self, name)
            if v is not None and not _broadcasts_to(shape_of(v), norm):
                raise VerifyException(
                    f"'{name}' of shape {list(shape_of(v))} does not broadcast to the "
                    f"normalized shape {list(norm)}"
                )
        if self.epsilon.value.data < 0:
            raise VerifyException(f"epsilon must be >= 0, got {self.epsilon.value.data}")
        fracs = _fixed_fracs([self.input, self.output])
        if fracs is None:
            _expect_type(self, x)
            _no_int8_props(self, ["shift"])
            return
        _symmetric(self, [self.input, self.output])
        if shape_of(self.output) != x:
            raise VerifyException(
                f"expected result shape {list(x)}, got {list(shape_of(self.output))}"
            )
        if _element_type(self.scale) != i8 or shape_of(self.scale) != norm:
            raise VerifyException(
                f"int8 fixed-point dnn.layer_norm needs a plain i8 scale of shape {list(norm)}, "
                f"got {self.scale.type}"
            )
        bias = self.bias
        if bias is not None and (_element_type(bias) != i32 or shape_of(bias) != norm):
            raise VerifyException(
                f"int8 fixed-point dnn.layer_norm needs an i32 bias of shape {list(norm)}, "
                f"got {self.bias.type}"
            )
        _require_props(self, ["shift"])
        _in_range("shift", _int_prop(self.shift), 0, SHIFT_MAX)


@irdl_op_definition
class BatchNormOp(IRDLOperation):
    """Inference batch normalization (ONNX BatchNormalization):
    `scale * (x - mean) / sqrt(var + epsilon) + bias`, per channel (axis 1).

        %y = dnn.batchnorm %x, %scale, %bias, %mean, %var epsilon 1.0e-05
               : (tensor<1x64x56x56xf32>, tensor<64xf32>, ...) -> tensor<1x64x56x56xf32>
    """

    name = "dnn.batchnorm"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    output = result_def(TensorType)

    epsilon = prop_def(FloatAttr[Float64Type], default_value=f64_attr(1e-5))

    assembly_format = (
        "$input `,` $scale `,` $bias `,` $mean `,` $var (`epsilon` $epsilon^)? attr-dict `:` "
        "`(` type($input) `,` type($scale) `,` type($bias) `,` type($mean) `,` type($var) `)` "
        "`->` type($output)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        scale: SSAValue | Operation,
        bias: SSAValue | Operation,
        mean: SSAValue | Operation,
        var: SSAValue | Operation,
        epsilon: float = 1e-5,
    ):
        x = SSAValue.get(input)
        super().__init__(
            operands=[x, scale, bias, mean, var],
            result_types=[x.type],
            properties={"epsilon": f64_attr(epsilon)},
        )

    def verify_(self) -> None:
        x = shape_of(self.input)
        if len(x) < 2:
            raise VerifyException(f"expected an input of rank >= 2, got rank {len(x)}")
        for name in ("scale", "bias", "mean", "var"):
            if shape_of(getattr(self, name)) != (x[1],):
                raise VerifyException(
                    f"'{name}' must have shape {x[1]} (channels), "
                    f"got {list(shape_of(getattr(self, name)))}"
                )
        _expect_type(self, x)


# --------------------------------------------------------------------------- data movement


def _broadcasts_to(small: Shape, big: Shape) -> bool:
    """Whether `small` broadcasts to `big` without changing it (numpy rules, right-aligned)."""
    return len(small) <= len(big) and all(
        s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False)
    )


def _normalize_axis(axis: int, rank: int, extra: int = 0) -> int:
    """axis in [-rank, rank + extra) -> [0, rank + extra)."""
    if not -rank - extra <= axis < rank + extra:
        raise VerifyException(f"axis {axis} out of range for rank {rank}")
    return axis + rank + extra if axis < 0 else axis


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Concatenation along one axis (ONNX Concat).

        %y = dnn.concat %a, %b axis 1 : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>)
               -> tensor<1x96x28x28xf32>
    """

    name = "dnn.concat"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    assembly_format = "$inputs `axis` $axis attr-dict `:` `(` type($inputs) `)` `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, inputs: Sequence[SSAValue | Operation], axis: int):
        values = [SSAValue.get(v) for v in inputs]
        shape = concat_shape([shape_of(v) for v in values], axis)
        super().__init__(
            operands=[values],
            result_types=[_tensor_like(values[0], shape)],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("dnn.concat needs at least one input")
        _expect_type(self, concat_shape([shape_of(v) for v in self.inputs], self.axis.value.data))
        _same_frac(self, [*self.inputs, self.output])


def concat_shape(shapes: Sequence[Shape], axis: int) -> Shape:
    rank = len(shapes[0])
    ax = _normalize_axis(axis, rank)
    for s in shapes:
        if len(s) != rank or s[:ax] + s[ax + 1 :] != shapes[0][:ax] + shapes[0][ax + 1 :]:
            raise VerifyException(
                f"inputs {[list(s) for s in shapes]} differ outside the concat axis {axis}"
            )
    return (*shapes[0][:ax], sum(s[ax] for s in shapes), *shapes[0][ax + 1 :])


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """Reshape to the (static) result type; the element count is preserved.

        %y = dnn.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
    """

    name = "dnn.reshape"

    input = operand_def(TensorType)
    output = result_def(TensorType)

    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation, shape: Sequence[int]):
        x = SSAValue.get(input)
        super().__init__(operands=[x], result_types=[_tensor_like(x, shape)])

    def verify_(self) -> None:
        a, b = shape_of(self.input), shape_of(self.output)
        if prod(a) != prod(b):
            raise VerifyException(
                f"reshape changes the element count: {list(a)} ({prod(a)}) -> "
                f"{list(b)} ({prod(b)})"
            )
        _same_frac(self, [self.input, self.output])


@irdl_op_definition
class FlattenOp(IRDLOperation):
    """Flatten to 2-D at `axis` (ONNX Flatten): [d0..d(a-1)] x [da..].

        %y = dnn.flatten %x axis 1 : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
    """

    name = "dnn.flatten"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, 64))

    assembly_format = "$input (`axis` $axis^)? attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation, axis: int = 1):
        x = SSAValue.get(input)
        super().__init__(
            operands=[x],
            result_types=[_tensor_like(x, flatten_shape(shape_of(x), axis))],
            properties={"axis": IntegerAttr(axis, 64)},
        )

    def verify_(self) -> None:
        _expect_type(self, flatten_shape(shape_of(self.input), self.axis.value.data))
        _same_frac(self, [self.input, self.output])


def flatten_shape(x: Shape, axis: int) -> Shape:
    ax = _normalize_axis(axis, len(x), extra=1) if axis >= 0 else _normalize_axis(axis, len(x))
    return (prod(x[:ax]), prod(x[ax:]))


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """Permute dimensions (ONNX Transpose): output dim i is input dim perm[i].

        %y = dnn.transpose %x perm [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
    """

    name = "dnn.transpose"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    perm = prop_def(DenseArrayBase[I64])

    assembly_format = "$input `perm` $perm attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation, perm: Sequence[int]):
        x = SSAValue.get(input)
        s = shape_of(x)
        super().__init__(
            operands=[x],
            result_types=[_tensor_like(x, [s[p] for p in perm])],
            properties={"perm": i64_array(perm)},
        )

    def verify_(self) -> None:
        s, perm = shape_of(self.input), ints(self.perm)
        if sorted(perm) != list(range(len(s))):
            raise VerifyException(f"perm {list(perm)} is not a permutation of 0..{len(s) - 1}")
        _expect_type(self, tuple(s[p] for p in perm))
        _same_frac(self, [self.input, self.output])


# ---------------------------------------------------------------------- quantize / dequantize


class _Encode(IRDLOperation):
    """An op whose int8 fixed-point result takes the encoding (F, Z) it is built with."""

    output = result_def(TensorType)

    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation, frac: int, zero: int = 0):
        x = SSAValue.get(input)
        super().__init__(operands=[x], result_types=[fixed_type(shape_of(x), frac, zero)])


@irdl_op_definition
class QuantizeOp(_Encode):
    """float -> int8 fixed point: q = sat8(floor(x * 2**F + 0.5) + Z) (docs/quantization.md).

        %q = dnn.quantize %x : tensor<1x3x224x224xf32> -> tensor<1x3x224x224xi8, #dnn.fixed<5>>
    """

    name = "dnn.quantize"

    input = operand_def(TensorType[AnyFloat])

    def verify_(self) -> None:
        if _fixed_fracs([self.output], "the result") is None:
            raise VerifyException(
                f"result must be an int8 fixed-point tensor, got {self.output.type}"
            )
        _expect_type(self, shape_of(self.input))


@irdl_op_definition
class RequantizeOp(_Encode):
    """int8 fixed point -> int8 fixed point in another encoding (F, Z) -> (F', Z'):
    q' = sat8(floor((q - Z) * 2**(F' - F) + 0.5) + Z'), the ACT instruction's identity table.
    The quantizer puts one on a concat input that keeps its own encoding.

        %y = dnn.requantize %x : tensor<8xi8, #dnn.fixed<5, -128>> -> tensor<8xi8, #dnn.fixed<4, 5>>
    """

    name = "dnn.requantize"

    input = operand_def(TensorType)

    def verify_(self) -> None:
        for v, what in ((self.input, "input"), (self.output, "result")):
            if _fixed_fracs([v], f"the {what}") is None:
                raise VerifyException(
                    f"{what} must be an int8 fixed-point tensor, got {v.type}")
        _expect_type(self, shape_of(self.input))


@irdl_op_definition
class DequantizeOp(IRDLOperation):
    """int8 fixed point -> float: x = (q - Z) * 2**-F, exact.

        %x = dnn.dequantize %q : tensor<1x1000xi8, #dnn.fixed<4>> -> tensor<1x1000xf32>
    """

    name = "dnn.dequantize"

    input = operand_def(TensorType)
    output = result_def(TensorType[AnyFloat])

    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue | Operation, element_type: Attribute = f32):
        x = SSAValue.get(input)
        super().__init__(operands=[x], result_types=[TensorType(element_type, shape_of(x))])

    def verify_(self) -> None:
        if _fixed_fracs([self.input], "the input") is None:
            raise VerifyException(
                f"input must be an int8 fixed-point tensor, got {self.input.type}"
            )
        _expect_type(self, shape_of(self.input))


# ---------------------------------------------------------------------------- recurrent


_RNN_GATES = {"dnn.lstm": 4, "dnn.gru": 3, "dnn.rnn": 1}


class _Recurrent(IRDLOperation):
    """Shared structure of dnn.lstm / dnn.gru / dnn.rnn (ONNX semantics, layout 0).

    X: [seq, batch, input]; W: [dirs, G*H, input]; R: [dirs, G*H, H]; B: [dirs, 2*G*H];
    sequence_lens: [batch] (integer); initial_h: [dirs, batch, H].
    Results: Y [seq, dirs, batch, H] and Y_h [dirs, batch, H] (LSTM adds Y_c).
    """

    # Operands and results are declared by each concrete op: IRDL orders inherited fields
    # after the subclass's own, which would scramble the operand segments.

    hidden_size = prop_def(IntegerAttr[I64])
    direction = prop_def(RnnDirectionAttr)
    activations = opt_prop_def(ArrayAttr[StringAttr])
    activation_alpha = opt_prop_def(ArrayAttr[FloatAttr[Float64Type]])
    activation_beta = opt_prop_def(ArrayAttr[FloatAttr[Float64Type]])
    clip = opt_prop_def(FloatAttr[Float64Type])

    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    traits = traits_def(Pure())

    @property
    def num_directions(self) -> int:
        return 2 if self.direction.data == RnnDirection.BIDIRECTIONAL else 1

    @property
    def hidden(self) -> int:
        return self.hidden_size.value.data

    def verify_(self) -> None:
        gates = _RNN_GATES[self.name]
        d, h = self.num_directions, self.hidden
        if h < 1:
            raise VerifyException(f"hidden_size must be positive, got {h}")
        x = shape_of(self.x)
        if len(x) != 3:
            raise VerifyException(f"X must be [seq, batch, input], got {list(x)}")
        seq, batch, inp = x
        expect = {
            "w": (d, gates * h, inp),
            "r": (d, gates * h, h),
            "b": (d, 2 * gates * h),
            "sequence_lens": (batch,),
            "initial_h": (d, batch, h),
            **self._extra_operand_shapes(d, batch, h),
        }
        for name, shape in expect.items():
            value = getattr(self, name)
            if value is not None and shape_of(value) != shape:
                raise VerifyException(
                    f"'{name}' must have shape {list(shape)}, got {list(shape_of(value))}"
                )
        lens = self.sequence_lens
        if lens is not None and not isinstance(_element_type(lens), IntegerType):
            raise VerifyException(
                f"'sequence_lens' must hold integers (ONNX: int32), got {_element_type(lens)}"
            )
        if self.activations is not None:
            n = len(self.activations.data)
            per_dir = {"dnn.lstm": 3, "dnn.gru": 2, "dnn.rnn": 1}[self.name]
            if n != per_dir * d:
                raise VerifyException(f"expected {per_dir * d} activations, got {n}")
        results = self.results
        _expect_type(self, (seq, d, batch, h), results[0])
        for res in results[1:]:
            _expect_type(self, (d, batch, h), res)

    def _extra_operand_shapes(self, d: int, batch: int, h: int) -> dict[str, Shape]:
        return {}


def _rnn_props(
    hidden_size: int,
    direction: RnnDirection,
    activations: Sequence[str] | None,
    activation_alpha: Sequence[float] | None,
    activation_beta: Sequence[float] | None,
    clip: float | None,
) -> dict[str, Attribute | None]:
    return {
        "hidden_size": IntegerAttr(hidden_size, 64),
        "direction": RnnDirectionAttr(direction),
        "activations": None
        if activations is None
        else ArrayAttr([StringAttr(a) for a in activations]),
        "activation_alpha": None
        if activation_alpha is None
        else ArrayAttr([f64_attr(a) for a in activation_alpha]),
        "activation_beta": None
        if activation_beta is None
        else ArrayAttr([f64_attr(a) for a in activation_beta]),
        "clip": None if clip is None else f64_attr(clip),
    }


def _rnn_result_types(x: SSAValue, direction: RnnDirection, hidden: int, n_states: int) -> list:
    seq, batch, _ = shape_of(x)
    d = 2 if direction == RnnDirection.BIDIRECTIONAL else 1
    return [_tensor_like(x, (seq, d, batch, hidden))] + [
        _tensor_like(x, (d, batch, hidden)) for _ in range(n_states)
    ]


def _rnn_format(extra_operands: Sequence[tuple[str, str]], results: Sequence[str]) -> str:
    """Assembly format of a recurrent op: optional operands are introduced by a keyword and
    their types repeat the keyword, so any subset of them parses unambiguously. The keyword
    must open its optional group (no leading comma): a group is chosen by its first token, and
    a shared `,` would always select the first group (`c0` without `bias` would not parse)."""
    optional = [("bias", "b"), ("seq_lens", "sequence_lens"), ("h0", "initial_h")]
    optional += extra_operands
    operands = "".join(f"(`{kw}` ${name}^)? " for kw, name in optional)
    types = "".join(f"(`{kw}` type(${name})^)? " for kw, name in optional)
    outs = " `,` ".join(f"type(${r})" for r in results)
    return (
        f"$x `,` $w `,` $r {operands}attr-dict `:` "
        f"`(` type($x) `,` type($w) `,` type($r) {types}`)` `->` `(` {outs} `)`"
    )


@irdl_op_definition
class LstmOp(_Recurrent):
    """LSTM layer with full ONNX semantics (gate order i, o, f, c; peepholes P: [dirs, 3H]).

        %y, %yh, %yc = dnn.lstm %x, %w, %r bias %b {hidden_size = 512 : i64,
               direction = #dnn<direction forward>} : (...) -> (...)
    """

    name = "dnn.lstm"

    x = operand_def(TensorType)
    w = operand_def(TensorType)
    r = operand_def(TensorType)
    b = opt_operand_def(TensorType)
    sequence_lens = opt_operand_def(TensorType)
    initial_h = opt_operand_def(TensorType)
    initial_c = opt_operand_def(TensorType)
    p = opt_operand_def(TensorType)
    y = result_def(TensorType)
    y_h = result_def(TensorType)
    y_c = result_def(TensorType)
    input_forget = opt_prop_def(UnitAttr)

    assembly_format = _rnn_format([("c0", "initial_c"), ("peepholes", "p")], ["y", "y_h", "y_c"])

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        r: SSAValue,
        b: SSAValue | None = None,
        *,
        hidden_size: int,
        sequence_lens: SSAValue | None = None,
        initial_h: SSAValue | None = None,
        initial_c: SSAValue | None = None,
        p: SSAValue | None = None,
        direction: RnnDirection = RnnDirection.FORWARD,
        activations: Sequence[str] | None = None,
        activation_alpha: Sequence[float] | None = None,
        activation_beta: Sequence[float] | None = None,
        clip: float | None = None,
        input_forget: bool = False,
    ):
        props = _rnn_props(
            hidden_size, direction, activations, activation_alpha, activation_beta, clip
        )
        props["input_forget"] = UnitAttr() if input_forget else None
        super().__init__(
            operands=[x, w, r, b, sequence_lens, initial_h, initial_c, p],
            result_types=_rnn_result_types(SSAValue.get(x), direction, hidden_size, 2),
            properties=props,
        )

    def _extra_operand_shapes(self, d: int, batch: int, h: int) -> dict[str, Shape]:
        return {"initial_c": (d, batch, h), "p": (d, 3 * h)}


class _HiddenStateRecurrent(_Recurrent):
    """dnn.gru / dnn.rnn: the operands and results of a recurrent layer with a hidden state
    only. (Only properties may be added by a subclass: its own operands would be ordered
    before these.)"""

    x = operand_def(TensorType)
    w = operand_def(TensorType)
    r = operand_def(TensorType)
    b = opt_operand_def(TensorType)
    sequence_lens = opt_operand_def(TensorType)
    initial_h = opt_operand_def(TensorType)
    y = result_def(TensorType)
    y_h = result_def(TensorType)

    assembly_format = _rnn_format([], ["y", "y_h"])

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        r: SSAValue,
        b: SSAValue | None = None,
        *,
        hidden_size: int,
        sequence_lens: SSAValue | None = None,
        initial_h: SSAValue | None = None,
        direction: RnnDirection = RnnDirection.FORWARD,
        activations: Sequence[str] | None = None,
        activation_alpha: Sequence[float] | None = None,
        activation_beta: Sequence[float] | None = None,
        clip: float | None = None,
        flags: Sequence[str] = (),
    ):
        """`flags`: the names of the op's unit properties to set."""
        props = _rnn_props(
            hidden_size, direction, activations, activation_alpha, activation_beta, clip
        )
        props.update({flag: UnitAttr() for flag in flags})
        super().__init__(
            operands=[x, w, r, b, sequence_lens, initial_h],
            result_types=_rnn_result_types(SSAValue.get(x), direction, hidden_size, 1),
            properties=props,
        )


@irdl_op_definition
class GruOp(_HiddenStateRecurrent):
    """GRU layer with full ONNX semantics (gate order z, r, h; `linear_before_reset`).

        %y, %yh = dnn.gru %x, %w, %r {hidden_size = 128 : i64,
               direction = #dnn<direction bidirectional>} : (...) -> (...)
    """

    name = "dnn.gru"

    linear_before_reset = opt_prop_def(UnitAttr)

    def __init__(self, x: SSAValue, w: SSAValue, r: SSAValue, b: SSAValue | None = None, *,
                 linear_before_reset: bool = False, **kwargs: Any):
        """As `_HiddenStateRecurrent`, plus ONNX's linear_before_reset."""
        super().__init__(x, w, r, b, **kwargs,
                         flags=("linear_before_reset",) if linear_before_reset else ())


@irdl_op_definition
class RnnOp(_HiddenStateRecurrent):
    """Simple (Elman) RNN layer with full ONNX semantics (default activation tanh).

        %y, %yh = dnn.rnn %x, %w, %r bias %b {hidden_size = 64 : i64,
               direction = #dnn<direction reverse>} : (...) -> (...)
    """

    name = "dnn.rnn"


RECURRENT_OPS: tuple[type[_Recurrent], ...] = (LstmOp, GruOp, RnnOp)


# --------------------------------------------------------------------------------- host


HostAttrValue = int | float | str | list[int] | list[float] | list[str]


def _host_attr(value: HostAttrValue | Attribute) -> Attribute:
    """Python ONNX attribute value -> xDSL attribute (ints are i64, floats f64)."""
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool | int):
        return IntegerAttr(int(value), 64)
    if isinstance(value, float):
        return f64_attr(value)
    if isinstance(value, str):
        return StringAttr(value)
    items = list(value)
    if all(isinstance(v, bool | int) for v in items):
        return i64_array(items)
    return ArrayAttr([_host_attr(v) for v in items])


def _python_value(attr: Attribute) -> HostAttrValue:
    if isinstance(attr, IntegerAttr):
        return int(attr.value.data)
    if isinstance(attr, FloatAttr):
        return float(attr.value.data)
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DenseArrayBase):
        return [int(v) for v in attr.get_values()]
    if isinstance(attr, ArrayAttr):
        return [_python_value(v) for v in attr.data]  # type: ignore[misc]
    raise VerifyException(f"unsupported host attribute {attr}")


@irdl_op_definition
class HostOp(IRDLOperation):
    """An operation the accelerator never runs, executed on the host in numpy.

    `op_type` names the ONNX operator; `attrs` holds its ONNX attributes. The reference
    executor and the runtime's host segments look the op type up in one table.

        %y = dnn.host "LRN" (%x) {size = 5 : i64, alpha = 1.0e-04 : f64}
               : (tensor<1x64x56x56xf32>) -> tensor<1x64x56x56xf32>
    """

    name = "dnn.host"

    op_type = prop_def(StringAttr)
    attrs = prop_def(DictionaryAttr, default_value=DictionaryAttr({}))
    inputs = var_operand_def(TensorType)
    outputs = var_result_def(TensorType)

    assembly_format = (
        "$op_type `(` $inputs `)` (`attrs` $attrs^)? attr-dict `:` "
        "functional-type($inputs, $outputs)"
    )

    def __init__(
        self,
        op_type: str,
        inputs: Sequence[SSAValue | Operation],
        result_types: Sequence[Attribute],
        attrs: dict[str, HostAttrValue] | None = None,
    ):
        super().__init__(
            operands=[list(inputs)],
            result_types=[list(result_types)],
            properties={
                "op_type": StringAttr(op_type),
                "attrs": DictionaryAttr({k: _host_attr(v) for k, v in (attrs or {}).items()}),
            },
        )

    def python_attrs(self) -> dict[str, HostAttrValue]:
        """The ONNX attributes as Python values (int, float, str or lists of them)."""
        return {k: _python_value(v) for k, v in self.attrs.data.items()}

    def verify_(self) -> None:
        if not self.op_type.data:
            raise VerifyException("host op type must not be empty")
        self.python_attrs()  # every attribute must map back to a Python value
        if not self.outputs:
            raise VerifyException("a host op must produce at least one result")


DNN = Dialect(
    "dnn",
    [
        WeightOp,
        ConstantOp,
        Conv2dOp,
        Pool2dOp,
        GlobalPoolOp,
        DenseOp,
        MatMulOp,
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        SumOp,
        ReluOp,
        SigmoidOp,
        TanhOp,
        HardSwishOp,
        SiluOp,
        HardSigmoidOp,
        ClipOp,
        LeakyReluOp,
        SoftmaxOp,
        GeluOp,
        LayerNormOp,
        BatchNormOp,
        ConcatOp,
        ReshapeOp,
        FlattenOp,
        TransposeOp,
        QuantizeOp,
        DequantizeOp,
        RequantizeOp,
        LstmOp,
        GruOp,
        RnnOp,
        HostOp,
    ],
    [ActivationAttr, PoolKindAttr, RnnDirectionAttr, FixedPointAttr],
)
