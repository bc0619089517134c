"""The `tile` dialect: how every accelerator layer is cut into tiles, the unit of work of one core.

`dnn-tile` wraps each accelerator dnn op in a `tile.layer`: its body holds the original op (with
its `dnn.weight` operands), so the layer's meaning is still the dnn op's, and its `tiles` region
lists one `tile.tile` per tile. A tile is a box of the output in NHWC coordinates (rows, columns,
channels), the input window it reads (rows and columns with the halo, and the input channels),
the zero padding the compute instruction adds at the window's edges (image borders are never
loaded as zeros), the rows per compute step, its on-chip buffer footprint and its cost in cycles.
`tile-compile-frames` turns each tile into one instruction frame without recomputing any of it.

    %y = tile.layer "conv1" conv grid [28, 1, 1] cost 1321856 (%x) : (...) -> ... {
    ^bb0(%a: tensor<1x3x224x224xi8>):
      %w = dnn.weight "conv1.w.q" : tensor<64x3x7x7xi8>
      %r = dnn.conv2d %a, %w strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1] : ...
      tile.yield %r : tensor<1x64x112x112xi8>
    } tiles {
      tile.tile out [0:4, 0:112, 0:64] in [0:9, 0:224, 0:3] pads [3, 3, 0, 2] step 4
                buffers [35968, 9408, 256] cost 47206
      ...
    }

Two zero-copy ops complete it. `tile.concat` joins channel slices that their producers already
wrote in place: a producer whose output lives in a slice of a concat carries `into [offset,
total]` (its channels start at `offset` of a tensor with `total` channels). `tile.view` is a
reshape that moves no data: its result is its input's bytes. Either a flattening to a [1, K]
vector, whose elements then come in the NHWC order of the input (a dense layer reading it
records `x_chw`, and its weights are permuted to match), or a chain of transposes and reshapes
that leaves every byte in place (`moves_no_bytes`), read with the result's own geometry.

Strided 1x1 convolutions (ResNet's projection shortcuts) read every s-th input pixel only, so
their geometry is the subsampled input with stride 1 (`Geometry.subsample`): windows and
footprints count only the pixels read, and the LOAD gathers them with s times larger DDR
strides.

Geometry. Activations are NHWC int8 in DDR, batch 1; a 4-D tensor [1, C, H, W] is the image
(H, W, C), a 2-D [1, K] is (1, 1, K). `geometry(op)` gives a dnn op's sliding-window description
and `Geometry.window` the input a box of its output needs; the verifiers and both passes share
them. The module attribute `tile.core` (`#tile.core<...>`) records the core the tiles were sized
for, so the verifier can check every footprint against its buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import auto
from functools import cache
from math import prod

import numpy as np
from xdsl.dialects.builtin import (
    I64,
    DenseArrayBase,
    IntAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, NoTerminator, Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from fvir.ir import dnn
from fvir.isa.spec import Opcode
from fvir.isa.spec import field as isa_field

PAD_MAX = isa_field(Opcode.CONV, "pad_t").hi  # CONV and POOL share the pad fields
BUFFER_NAMES = ("fmap", "weight", "bias")


# ----------------------------------------------------------------------------- geometry


class TileKind(StrEnum):
    """What a layer's frames compute, i.e. which compute instruction they use."""

    CONV = auto()  # dnn.conv2d, not depthwise (a grouped one: one CONV per group): CONV
    DWCONV = auto()  # dnn.conv2d depthwise, dnn.clip(0, hi): CONV with depthwise = 1
    POOL = auto()  # dnn.pool2d: POOL
    GPOOL = auto()  # dnn.global_pool: POOL whose window is the whole image
    ELTWISE = auto()  # dnn.add / dnn.mul of equal shapes, or by a channel vector: ELEW
    DENSE = auto()  # dnn.dense: MVM
    ACT = auto()  # dnn.relu / sigmoid / tanh / gelu / requantize: ACT (lookup table)
    COPY = auto()  # LOAD + SAVE: a concat input that cannot be written in place
    SOFTMAX = auto()  # int8 dnn.softmax along the channels of each pixel: ROW SOFTMAX
    LNORM = auto()  # int8 dnn.layer_norm along the channels of each pixel: ROW LAYERNORM

    @property
    def whole_rows(self) -> bool:
        """A ROW reduction: every tile holds all channels of its pixels."""
        return self in (TileKind.SOFTMAX, TileKind.LNORM)


def storage_order(shape: Sequence[int]) -> np.ndarray:
    """The logical (row-major) index of each element of a tensor of `shape`, in the order its
    bytes lie in DDR: NHWC for a batch-1 image [1, C, H, W], row-major for anything else."""
    logical = np.arange(prod(shape), dtype=np.int64).reshape(tuple(shape))
    if len(shape) == 4 and shape[0] == 1:
        logical = logical.transpose(0, 2, 3, 1)
    return logical.reshape(-1)


def moves_no_bytes(shape: Sequence[int], steps: Sequence[tuple[str, tuple[int, ...]]],
                   result: Sequence[int]) -> bool:
    """Whether a chain of layout ops from a tensor of `shape` to one of `result` leaves every
    byte where it is in DDR (see `storage_order`), so that a `tile.view` can stand for it.
    `steps` are ("transpose", perm) and ("reshape", shape) in program order.

    1. Label each input element with its storage position.
    2. Move the labels as the ops move the elements (logically, row-major).
    3. The chain moves no byte when reading the labels in the result's storage order gives
       0, 1, 2, ...
    """
    n = prod(shape)
    if n != prod(result):
        return False
    labels = np.empty(n, np.int64)
    labels[storage_order(shape)] = np.arange(n)
    x = labels.reshape(tuple(shape))
    for kind, arg in steps:
        x = x.transpose(arg) if kind == "transpose" else x.reshape(arg)
    if tuple(x.shape) != tuple(result):
        return False
    return bool((x.reshape(-1)[storage_order(result)] == np.arange(n)).all())


def hwc(ty: Attribute) -> tuple[int, int, int] | None:
    """The NHWC image (H, W, C) of a batch-1 tensor type, or None if it has none."""
    if not isinstance(ty, TensorType):
        return None
    s = tuple(ty.get_shape())
    if len(s) == 4 and s[0] == 1:
        return (s[2], s[3], s[1])
    if len(s) == 2 and s[0] == 1:
        return (1, 1, s[1])
    if len(s) == 1:
        return (1, 1, s[0])
    if len(s) == 3 and s[0] == 1:  # a sequence [1, S, D]: S pixels of D channels, row-major
        return (1, s[1], s[2])
    if len(s) == 2:  # rows [M, K] (M > 1): M pixels of K channels, row-major
        return (1, s[0], s[1])
    return None


@dataclass(frozen=True)
class Window:
    """The input a box of the output reads: rows, columns and channels as half-open ranges,
    and the zero padding (top, left, bottom, right) added around them."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    chans: tuple[int, int]
    pads: tuple[int, int, int, int]

    def as_list(self) -> list[int]:
        return [*self.rows, *self.cols, *self.chans]


@dataclass(frozen=True)
class Geometry:
    """A layer as a sliding window over NHWC images.

    `pads` are effective: bottom/right cover exactly the last window (so ceil-mode pooling
    needs no special case and rows a floor-mode output never reads are not padded).
    """

    kind: TileKind
    in_shape: tuple[int, int, int]  # H, W, C of each activation input
    out_shape: tuple[int, int, int]  # OH, OW, OC
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    n_inputs: int = 1
    subsample: tuple[int, int] = (1, 1)  # the input is every s-th row / column of the tensor
    groups: int = 1  # CONV: output channel group g reads input channel group g only
    broadcast: bool = False  # ELTWISE: the second input is one pixel of channels (bcast_b)
    scaled: bool = False  # CONV/DWCONV/DENSE: a requantization multiplier per output channel

    @property
    def bias_bytes_per_channel(self) -> int:
        """Bias-buffer bytes per output channel: the int32 bias, and with `scaled` its int32
        multiplier after it (CONVINIT/MVM `scaled`)."""
        return 8 if self.scaled else 4

    @property
    def all_input_channels(self) -> bool:
        """True when every output channel reads every input channel (conv, dense)."""
        return self.kind in (TileKind.CONV, TileKind.DENSE) and self.groups == 1

    @property
    def group_channels(self) -> tuple[int, int]:
        """(input, output) channels per group of a grouped CONV."""
        return self.in_shape[2] // self.groups, self.out_shape[2] // self.groups

    @property
    def group_period(self) -> int:
        """Output channels per group of a grouped CONV (its compute instructions never cross
        a multiple of this), 0 for every other layer."""
        return self.group_channels[1] if self.kind == TileKind.CONV and self.groups > 1 else 0

    def group_inputs(self, k0: int, k1: int) -> tuple[int, int]:
        """The input channels that output channels [k0, k1) read (all for conv and dense, the
        same ones for channel-wise kinds, their groups' for a grouped CONV)."""
        if self.all_input_channels:
            return 0, self.in_shape[2]
        if self.kind != TileKind.CONV:
            return k0, k1
        cin, cout = self.group_channels
        return k0 // cout * cin, ((k1 - 1) // cout + 1) * cin

    @property
    def weight_bytes_per_channel(self) -> int:
        kh, kw = self.kernel
        if self.kind == TileKind.CONV:
            return kh * kw * self.in_shape[2] // self.groups
        if self.kind == TileKind.DWCONV:
            return kh * kw
        if self.kind == TileKind.DENSE:
            return prod(self.in_shape)
        if self.kind == TileKind.LNORM:
            return 1  # the int8 scale
        return 0

    @property
    def has_weights(self) -> bool:
        return self.kind in (TileKind.CONV, TileKind.DWCONV, TileKind.DENSE, TileKind.LNORM)

    def span(self, axis: int) -> int:
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1

    def _axis(self, axis: int, lo: int, hi: int) -> tuple[int, int, int, int]:
        size = self.in_shape[axis]
        start = lo * self.stride[axis] - self.pads[axis]
        end = (hi - 1) * self.stride[axis] - self.pads[axis] + self.span(axis)
        return max(start, 0), min(end, size), max(-start, 0), max(end - size, 0)

    def window(self, out: Sequence[int]) -> Window:
        """The input window of the output box out = [r0, r1, c0, c1, k0, k1]."""
        r0, r1, c0, c1, k0, k1 = out
        if self.kind == TileKind.DENSE:
            return Window((0, 1), (0, 1), (0, self.in_shape[2]), (0, 0, 0, 0))
        ir0, ir1, pt, pb = self._axis(0, r0, r1)
        ic0, ic1, pl, pr = self._axis(1, c0, c1)
        return Window((ir0, ir1), (ic0, ic1), self.group_inputs(k0, k1), (pt, pl, pb, pr))


def _effective_pads(
    in_hw: tuple[int, int], out_hw: tuple[int, int], kernel: Sequence[int],
    stride: Sequence[int], dilation: Sequence[int], pads: Sequence[int],
) -> tuple[int, int, int, int]:
    t, left = pads[0], pads[1]
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    b = max(0, (out_hw[0] - 1) * stride[0] + spans[0] - in_hw[0] - t)
    r = max(0, (out_hw[1] - 1) * stride[1] + spans[1] - in_hw[1] - left)
    return (t, left, b, r)


class Unsupported(ValueError):
    """A dnn op (or a form of one) that the accelerator cannot run; the message says why."""


def _image(value: SSAValue, what: str) -> tuple[int, int, int]:
    shape = hwc(value.type)
    if shape is None:
        raise Unsupported(
            f"{what} must be a batch-1 4-D, [1, S, D] or [M, K] tensor, got {value.type}"
        )
    return shape


def geometry(op: Operation) -> Geometry:
    """The geometry of a dnn op as a sliding window; `Unsupported` says why an op has none.
    Whether the accelerator can run it (its ISA limits) is `fvir.hw.capability`'s question."""
    geom = _window_geometry(op)
    if isinstance(op, dnn.Conv2dOp | dnn.DenseOp) and op.mul is not None:
        geom = replace(geom, scaled=True)
    return geom


def _window_geometry(op: Operation) -> Geometry:
    if isinstance(op, dnn.Conv2dOp):
        x, y = _image(op.input, "conv2d input"), _image(op.output, "conv2d output")
        w = dnn.shape_of(op.weight)
        g = op.groups
        depthwise = g > 1 and g == x[2] == y[2] and w[1] == 1
        kind, groups = (TileKind.DWCONV, 1) if depthwise else (TileKind.CONV, g)
        kernel, strides = (w[2], w[3]), dnn.ints(op.strides)
        dil, pads = dnn.ints(op.dilations), dnn.ints(op.pads)
        if kernel == (1, 1) and strides != (1, 1) and not any(pads):
            # A strided 1x1 conv reads every s-th pixel only: the LOAD gathers them (DDR
            # strides s times larger) and the CONV runs with stride 1 on the compact image.
            return Geometry(kind, (y[0], y[1], x[2]), y, subsample=(strides[0], strides[1]),
                            groups=groups)
        return Geometry(kind, x, y, kernel, strides, dil,
                        _effective_pads(x[:2], y[:2], kernel, strides, dil, pads), groups=groups)
    if isinstance(op, dnn.Pool2dOp):
        x, y = _image(op.input, "pool2d input"), _image(op.output, "pool2d output")
        kernel, strides, dil = dnn.ints(op.kernel), dnn.ints(op.strides), dnn.ints(op.dilations)
        return Geometry(TileKind.POOL, x, y, kernel, strides, dil,
                        _effective_pads(x[:2], y[:2], kernel, strides, dil, dnn.ints(op.pads)))
    if isinstance(op, dnn.GlobalPoolOp):
        x = _image(op.input, "global_pool input")
        if len(dnn.shape_of(op.input)) != 4:
            raise Unsupported("global pooling of a non-image tensor")
        return Geometry(TileKind.GPOOL, x, (1, 1, x[2]), (x[0], x[1]))
    if isinstance(op, dnn.DenseOp):
        a, w = dnn.shape_of(op.input), dnn.shape_of(op.weight)
        m = a[1] if op.trans_a is not None else a[0]
        if m != 1:
            raise Unsupported(f"dense with {m} rows (batch 1 only)")
        k = a[0] if op.trans_a is not None else a[1]
        n = w[0] if op.trans_b is not None else w[1]
        return Geometry(TileKind.DENSE, (1, 1, k), (1, 1, n))
    if isinstance(op, dnn.AddOp | dnn.MulOp):
        y = _image(op.output, f"{op.name} result")
        shapes = (dnn.shape_of(op.lhs), dnn.shape_of(op.rhs), dnn.shape_of(op.output))
        if not dnn.int8_eltwise_shapes(*shapes):
            raise Unsupported(f"broadcasting {op.name}")
        return Geometry(TileKind.ELTWISE, y, y, n_inputs=2, broadcast=shapes[0] != shapes[1])
    if isinstance(op, dnn.ClipOp):
        # clip(0, hi) is the conv engine's RELU6: a 1x1 depthwise conv by 1, then the clamp.
        y = _image(op.output, "clip result")
        return Geometry(TileKind.DWCONV, y, y)
    if isinstance(op, dnn.SoftmaxOp | dnn.LayerNormOp):
        y = _image(op.output, f"{op.name} result")
        rank = len(dnn.shape_of(op.input))
        axis = op.axis.value.data % rank
        if axis != rank - 1 or len(dnn.shape_of(op.input)) == 4:
            raise Unsupported(f"{op.name} along axis {axis} (the channels of a sequence or "
                              "rows tensor only)")
        kind = TileKind.SOFTMAX if isinstance(op, dnn.SoftmaxOp) else TileKind.LNORM
        return Geometry(kind, y, y)
    if isinstance(op, dnn.ReluOp | dnn.SigmoidOp | dnn.TanhOp | dnn.GeluOp | dnn.HardSwishOp
                  | dnn.HardSigmoidOp | dnn.SiluOp | dnn.RequantizeOp):
        y = _image(op.output, f"{op.name} result")
        return Geometry(TileKind.ACT, y, y)
    raise Unsupported(f"'{op.name}' has no accelerator lowering")


def copy_geometry(ty: Attribute) -> Geometry:
    shape = hwc(ty)
    if shape is None:
        raise Unsupported(f"cannot copy a tensor of type {ty}")
    return Geometry(TileKind.COPY, shape, shape)


# ---------------------------------------------------------------------------- attributes


@irdl_attr_definition
class TileKindAttr(EnumAttribute[TileKind], SpacedOpaqueSyntaxAttribute):
    name = "tile.kind"


_CORE_KEYS = ("pp", "icp", "ocp", "fmap", "weight", "bias")


@irdl_attr_definition
class CoreAttr(ParametrizedAttribute):
    """The core a module was tiled for: `#tile.core<pp 4 icp 8 ocp 8 fmap 65536 weight
    294912 bias 32768>` (parallelism and buffer bytes)."""

    name = "tile.core"

    pp: IntAttr
    icp: IntAttr
    ocp: IntAttr
    fmap: IntAttr
    weight: IntAttr
    bias: IntAttr

    def __init__(self, pp: int, icp: int, ocp: int, fmap: int, weight: int, bias: int):
        super().__init__(*(IntAttr(v) for v in (pp, icp, ocp, fmap, weight, bias)))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        values: list[Attribute] = []
        with parser.in_angle_brackets():
            for key in _CORE_KEYS:
                parser.parse_keyword(key)
                values.append(IntAttr(parser.parse_integer(allow_boolean=False)))
        return values

    def print_parameters(self, printer: Printer) -> None:
        text = " ".join(f"{k} {v.data}" for k, v in zip(_CORE_KEYS, self.parameters, strict=True))
        printer.print_string(f"<{text}>")

    def verify(self) -> None:
        for key, value in zip(_CORE_KEYS, self.parameters, strict=True):
            assert isinstance(value, IntAttr)
            if value.data <= 0:
                raise VerifyException(f"#tile.core {key} must be positive, got {value.data}")

    @property
    def buffers(self) -> tuple[int, int, int]:
        return (self.fmap.data, self.weight.data, self.bias.data)


# ---------------------------------------------------------------------------- helpers


def _i64s(values: Sequence[int]) -> DenseArrayBase:
    return _i64s_cached(tuple(int(v) for v in values))


@cache
def _i64s_cached(values: tuple[int, ...]) -> DenseArrayBase:
    # Attributes are immutable: tiles share them (building one costs ~30 us, and ResNet-50
    # has thousands of tiles with a few hundred distinct boxes).
    return dnn.i64_array(values)


@cache
def _i64(value: int) -> IntegerAttr:
    return IntegerAttr(value, 64)


def _parse_int_list(parser: Parser) -> list[int]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
    )


def _parse_ranges(parser: Parser) -> list[int]:
    def one() -> list[int]:
        lo = parser.parse_integer(allow_boolean=False)
        parser.parse_punctuation(":")
        return [lo, parser.parse_integer(allow_boolean=False)]

    pairs = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, one)
    return [v for p in pairs for v in p]


def _ranges_text(values: Sequence[int]) -> str:
    return "[" + ", ".join(f"{values[i]}:{values[i + 1]}" for i in range(0, len(values), 2)) + "]"


def _list_text(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _enclosing_core(op: Operation) -> CoreAttr | None:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, ModuleOp):
        parent = parent.parent_op()
    if parent is None:
        return None
    core = parent.attributes.get("tile.core")
    return core if isinstance(core, CoreAttr) else None


# ---------------------------------------------------------------------------- operations


@irdl_op_definition
class TileOp(IRDLOperation):
    """One tile: one frame's worth of work on one core.

        tile.tile out [r0:r1, c0:c1, k0:k1] in [r0:r1, c0:c1, k0:k1] pads [t, l, b, r]
                  step S buffers [fmap, weight, bias] cost N (chunk C)?

    `out` is the box of output rows, columns and channels it computes; `in` the input window
    it loads (image rows and columns, input channels); `pads` the zero rows/columns the compute
    instruction adds at the window's edges; `step` the output rows per compute instruction
    (the frame pipelines loads, compute and saves over steps); `buffers` its footprint in bytes
    of each on-chip buffer; `cost` its cycles on one core; `chunk` (a conv whose weights do
    not fit with all input channels) the input channels of each partial reduction, whose int32
    sums stay in the bias buffer between chunks, or (a global pool whose window does not fit)
    the input rows of each part of the window.
    """

    name = "tile.tile"

    out = prop_def(DenseArrayBase[I64])
    window = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    step = prop_def(IntegerAttr[I64])
    buffers = prop_def(DenseArrayBase[I64])
    cost = prop_def(IntegerAttr[I64])
    chunk = prop_def(IntegerAttr[I64], default_value=IntegerAttr(0, 64))

    traits = lazy_traits_def(lambda: (HasParent(LayerOp),))

    def __init__(
        self,
        out: Sequence[int],
        window: Sequence[int],
        pads: Sequence[int],
        step: int,
        buffers: Sequence[int],
        cost: int,
        chunk: int = 0,
    ):
        super().__init__(
            properties={
                "out": _i64s(out),
                "window": _i64s(window),
                "pads": _i64s(pads),
                "step": _i64(step),
                "buffers": _i64s(buffers),
                "cost": _i64(cost),
                "chunk": _i64(chunk),
            }
        )

    @property
    def out_box(self) -> tuple[int, ...]:
        return dnn.ints(self.out)

    @property
    def window_box(self) -> tuple[int, ...]:
        return dnn.ints(self.window)

    @property
    def pad_values(self) -> tuple[int, ...]:
        return dnn.ints(self.pads)

    @property
    def footprint(self) -> tuple[int, ...]:
        return dnn.ints(self.buffers)

    @property
    def cycles(self) -> int:
        return self.cost.value.data

    @property
    def step_rows(self) -> int:
        return self.step.value.data

    @property
    def chunk_channels(self) -> int:
        return self.chunk.value.data

    @classmethod
    def parse(cls, parser: Parser) -> TileOp:
        parser.parse_keyword("out")
        out = _parse_ranges(parser)
        parser.parse_keyword("in")
        window = _parse_ranges(parser)
        parser.parse_keyword("pads")
        pads = _parse_int_list(parser)
        parser.parse_keyword("step")
        step = parser.parse_integer(allow_boolean=False)
        parser.parse_keyword("buffers")
        buffers = _parse_int_list(parser)
        parser.parse_keyword("cost")
        cost = parser.parse_integer(allow_boolean=False)
        chunk = 0
        if parser.parse_optional_keyword("chunk") is not None:
            chunk = parser.parse_integer(allow_boolean=False)
        op = cls(out, window, pads, step, buffers, cost, chunk)
        op.attributes.update(parser.parse_optional_attr_dict())
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(
            f" out {_ranges_text(self.out_box)} in {_ranges_text(self.window_box)}"
            f" pads {_list_text(self.pad_values)} step {self.step_rows}"
            f" buffers {_list_text(self.footprint)} cost {self.cycles}"
            + (f" chunk {self.chunk_channels}" if self.chunk_channels else "")
        )
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        for prop, n in (("out", 6), ("window", 6), ("pads", 4), ("buffers", 3)):
            values = dnn.ints(getattr(self, prop))
            if len(values) != n:
                raise VerifyException(f"'{prop}' must have {n} elements, got {len(values)}")
        for prop in ("out", "window"):
            v = dnn.ints(getattr(self, prop))
            if any(v[i] < 0 or v[i] >= v[i + 1] for i in (0, 2, 4)):
                raise VerifyException(f"'{prop}' ranges must be non-empty, got {_ranges_text(v)}")
        if any(not 0 <= p <= PAD_MAX for p in self.pad_values):
            raise VerifyException(f"pads must be in 0..{PAD_MAX}, got {list(self.pad_values)}")
        if self.step_rows < 1:
            raise VerifyException(f"step must be positive, got {self.step_rows}")
        if any(b < 0 for b in self.footprint) or self.cycles < 0:
            raise VerifyException("buffers and cost must be non-negative")
        layer = self.parent_op()
        if isinstance(layer, LayerOp) and layer.tile_kind == TileKind.GPOOL:
            what, n = "rows", self.window_box[1] - self.window_box[0]
        else:
            what, n = "input channels", self.window_box[5] - self.window_box[4]
        if self.chunk_channels and not 0 < self.chunk_channels < n:
            raise VerifyException(
                f"chunk must be below the window's {n} {what}, got {self.chunk_channels}")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `tile.layer` body with the value the layer produces."""

    name = "tile.yield"

    value = operand_def(TensorType)

    assembly_format = "$value attr-dict `:` type($value)"
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(LayerOp)))

    def __init__(self, value: SSAValue | Operation):
        super().__init__(operands=[value])


@irdl_op_definition
class LayerOp(IRDLOperation):
    """One accelerator layer and its tiling.

        %y = tile.layer "name" KIND grid [rows, cols, chans] cost N [into [off, total]]
               [x_chw [C, H, W]] (%inputs) : (types) -> type { body } tiles { tile.tile ... }

    The body (isolated, its block arguments are the inputs) holds the dnn op the layer computes
    and its weights, ended by `tile.yield`. `grid` counts the tiles along output rows, columns
    and channels; `cost` is the sum of the tiles' costs. `into` places the output in channels
    [off, off + C) of a tensor with `total` channels (a `tile.concat` written in place).
    `x_chw` (dense layers) says the input vector is the NHWC flattening of a C x H x W image,
    so the weights' columns are permuted from ONNX's CHW order at compile time.

    Verified: the tiles cover the output exactly once; each window and its pads are exactly
    what the tile's output box needs, inside the input; each footprint fits the buffers of the
    module's `#tile.core`.
    """

    name = "tile.layer"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)

    layer = prop_def(StringAttr)
    kind = prop_def(TileKindAttr)
    grid = prop_def(DenseArrayBase[I64])
    cost = prop_def(IntegerAttr[I64])
    into = opt_prop_def(DenseArrayBase[I64])
    x_chw = opt_prop_def(DenseArrayBase[I64])

    body = region_def("single_block")
    tiles = region_def("single_block")

    traits = traits_def(IsolatedFromAbove(), NoTerminator())

    def __init__(
        self,
        layer: str,
        kind: TileKind,
        inputs: Sequence[SSAValue],
        result_type: Attribute,
        body: Region,
        tiles: Sequence[TileOp],
        grid: Sequence[int],
        *,
        into: Sequence[int] | None = None,
        x_chw: Sequence[int] | None = None,
    ):
        tile_block = Block(tiles)
        super().__init__(
            operands=[list(inputs)],
            result_types=[result_type],
            properties={
                "layer": StringAttr(layer),
                "kind": TileKindAttr(kind),
                "grid": _i64s(grid),
                "cost": _i64(sum(t.cycles for t in tiles)),
                "into": None if into is None else _i64s(into),
                "x_chw": None if x_chw is None else _i64s(x_chw),
            },
            regions=[body, Region(tile_block)],
        )

    # -- accessors

    @property
    def layer_name(self) -> str:
        return self.layer.data

    @property
    def tile_kind(self) -> TileKind:
        return self.kind.data

    @property
    def tile_ops(self) -> list[TileOp]:
        return [op for op in self.tiles.block.ops if isinstance(op, TileOp)]

    @property
    def computation(self) -> Operation | None:
        """The wrapped dnn op (None for a copy layer)."""
        for op in self.body.block.ops:
            if not isinstance(op, dnn.WeightOp | dnn.ConstantOp | YieldOp):
                return op
        return None

    @property
    def placement(self) -> tuple[int, int] | None:
        """(channel offset, total channels) if the output is written into a concat."""
        return None if self.into is None else tuple(dnn.ints(self.into))  # type: ignore[return-value]

    def geometry(self) -> Geometry:
        op = self.computation
        return copy_geometry(self.output.type) if op is None else geometry(op)

    # -- syntax

    @classmethod
    def parse(cls, parser: Parser) -> LayerOp:
        name = parser.parse_str_literal("layer name")
        kind = parser.parse_str_enum(TileKind)
        parser.parse_keyword("grid")
        grid = _parse_int_list(parser)
        parser.parse_keyword("cost")
        cost = parser.parse_integer(allow_boolean=False)
        into = _parse_int_list(parser) if parser.parse_optional_keyword("into") else None
        x_chw = _parse_int_list(parser) if parser.parse_optional_keyword("x_chw") else None
        unresolved: list[UnresolvedOperand] = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand
        )
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        fn = parser.parse_function_type()
        operands = parser.resolve_operands(unresolved, fn.inputs.data, parser.pos)
        body = parser.parse_region()
        parser.parse_keyword("tiles")
        tiles = parser.parse_region()
        if len(fn.outputs.data) != 1:
            parser.raise_error("tile.layer has exactly one result")
        op = cls.create(
            operands=operands,
            result_types=[fn.outputs.data[0]],
            properties={
                "layer": StringAttr(name),
                "kind": TileKindAttr(kind),
                "grid": _i64s(grid),
                "cost": _i64(cost),
                **({"into": _i64s(into)} if into is not None else {}),
                **({"x_chw": _i64s(x_chw)} if x_chw is not None else {}),
            },
            attributes=attrs,
            regions=[body, tiles],
        )
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.layer_name)
        printer.print_string(
            f" {self.tile_kind} grid {_list_text(dnn.ints(self.grid))} cost {self.cost.value.data}"
        )
        if self.into is not None:
            printer.print_string(f" into {_list_text(dnn.ints(self.into))}")
        if self.x_chw is not None:
            printer.print_string(f" x_chw {_list_text(dnn.ints(self.x_chw))}")
        printer.print_string(" ")
        printer.print_operands(self.inputs)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        with printer.in_parens():
            printer.print_list((v.type for v in self.inputs), printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.output.type)
        printer.print_string(" ")
        printer.print_region(self.body)
        printer.print_string(" tiles ")
        printer.print_region(self.tiles, print_entry_block_args=False)

    # -- verification

    def verify_(self) -> None:
        block = self.body.block
        if [a.type for a in block.args] != [v.type for v in self.inputs]:
            raise VerifyException("body arguments must have the types of the layer's inputs")
        last = block.last_op
        if not isinstance(last, YieldOp):
            raise VerifyException("the body must end with tile.yield")
        if last.value.type != self.output.type:
            raise VerifyException(
                f"tile.yield type {last.value.type} differs from the result type "
                f"{self.output.type}"
            )
        if any(not isinstance(op, TileOp) for op in self.tiles.block.ops):
            raise VerifyException("the tiles region holds only tile.tile ops")
        try:
            geom = self.geometry()
        except Unsupported as exc:
            raise VerifyException(str(exc)) from None
        if geom.kind != self.tile_kind:
            raise VerifyException(f"kind {self.tile_kind} does not match the body ({geom.kind})")
        tiles = self.tile_ops
        if not tiles:
            raise VerifyException("a layer needs at least one tile")
        grid = dnn.ints(self.grid)
        if len(grid) != 3 or prod(grid) != len(tiles):
            raise VerifyException(f"grid {list(grid)} does not match the {len(tiles)} tiles")
        if sum(t.cycles for t in tiles) != self.cost.value.data:
            raise VerifyException("layer cost must equal the sum of its tiles' costs")
        _check_cover(geom.out_shape, [t.out_box for t in tiles])
        for i, t in enumerate(tiles):
            w = geom.window(t.out_box)
            if tuple(w.as_list()) != t.window_box or w.pads != t.pad_values:
                raise VerifyException(
                    f"tile {i}: window {_ranges_text(t.window_box)} pads "
                    f"{list(t.pad_values)} should be {_ranges_text(w.as_list())} pads "
                    f"{list(w.pads)} for output {_ranges_text(t.out_box)}"
                )
        self._verify_placement(geom)
        core = _enclosing_core(self)
        if core is not None:
            for i, t in enumerate(tiles):
                for name, used, have in zip(BUFFER_NAMES, t.footprint, core.buffers, strict=True):
                    if used > have:
                        raise VerifyException(
                            f"tile {i} needs {used} bytes of the {name} buffer, the core has "
                            f"{have}"
                        )

    def _verify_placement(self, geom: Geometry) -> None:
        if self.into is not None:
            off, total = dnn.ints(self.into)
            if off < 0 or off + geom.out_shape[2] > total:
                raise VerifyException(
                    f"into [{off}, {total}] does not hold {geom.out_shape[2]} channels"
                )
        if self.x_chw is not None:
            c, h, w = dnn.ints(self.x_chw)
            if geom.kind != TileKind.DENSE or c * h * w != geom.in_shape[2]:
                raise VerifyException("x_chw must describe the dense layer's input vector")


def _check_cover(shape: tuple[int, int, int], boxes: Sequence[Sequence[int]]) -> None:
    """Raise unless `boxes` ([r0, r1, c0, c1, k0, k1]) cover [0, shape) exactly once."""
    arr = np.asarray(boxes, dtype=np.int64).reshape(-1, 6)
    lo, hi = arr[:, 0::2], arr[:, 1::2]
    if (lo < 0).any() or (hi > np.asarray(shape)).any():
        j = int(np.argmax(((lo < 0) | (hi > np.asarray(shape))).any(axis=1)))
        raise VerifyException(
            f"tile {j} {_ranges_text(boxes[j])} lies outside the output {list(shape)}"
        )
    # Compress the coordinates: the cut points of every axis make a grid of cells, and every
    # cell must be covered by exactly one tile.
    cuts = [np.unique(np.concatenate([lo[:, a], hi[:, a], [0, shape[a]]])) for a in range(3)]
    counts = np.zeros([len(c) - 1 for c in cuts], dtype=np.int64)
    for j in range(len(arr)):
        idx = tuple(
            slice(int(np.searchsorted(cuts[a], lo[j, a])), int(np.searchsorted(cuts[a], hi[j, a])))
            for a in range(3)
        )
        counts[idx] += 1
    if (counts != 1).any():
        cell = np.unravel_index(int(np.argmax(counts != 1)), counts.shape)
        where = [int(cuts[a][cell[a]]) for a in range(3)]
        how = "more than once" if counts[cell] > 1 else "by no tile"
        raise VerifyException(f"output element (row, col, chan) {where} is covered {how}")


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Channel concatenation that moves no data: every input was written by its producer
    (a `tile.layer` or nested `tile.concat` with `into`) at its channel offset.

        %c = tile.concat %a, %b [into [off, total]] : (...) -> tensor<...>
    """

    name = "tile.concat"

    inputs = var_operand_def(TensorType)
    output = result_def(TensorType)
    into = opt_prop_def(DenseArrayBase[I64])

    traits = traits_def(Pure())

    def __init__(self, inputs: Sequence[SSAValue], result_type: Attribute,
                 into: Sequence[int] | None = None):
        super().__init__(
            operands=[list(inputs)],
            result_types=[result_type],
            properties={"into": None if into is None else _i64s(into)},
        )

    @property
    def placement(self) -> tuple[int, int] | None:
        return None if self.into is None else tuple(dnn.ints(self.into))  # type: ignore[return-value]

    @classmethod
    def parse(cls, parser: Parser) -> ConcatOp:
        unresolved = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        into = _parse_int_list(parser) if parser.parse_optional_keyword("into") else None
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        fn = parser.parse_function_type()
        operands = parser.resolve_operands(unresolved, fn.inputs.data, parser.pos)
        op = cls(operands, fn.outputs.data[0], into)
        op.attributes.update(attrs)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.inputs, printer.print_operand)
        if self.into is not None:
            printer.print_string(f" into {_list_text(dnn.ints(self.into))}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        with printer.in_parens():
            printer.print_list((v.type for v in self.inputs), printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.output.type)

    def verify_(self) -> None:
        shapes = [hwc(v.type) for v in self.inputs]
        out = hwc(self.output.type)
        if out is None or any(s is None for s in shapes):
            raise VerifyException("tile.concat joins batch-1 images or [1, K] vectors")
        if any(s[:2] != out[:2] for s in shapes):  # type: ignore[index]
            raise VerifyException("tile.concat inputs must have the result's rows and columns")
        offset = 0
        for i, (v, s) in enumerate(zip(self.inputs, shapes, strict=True)):
            owner = v.owner
            where = owner.placement if isinstance(owner, LayerOp | ConcatOp) else None
            if where != (offset, out[2]):
                raise VerifyException(
                    f"input {i} must be written in place at channel {offset} of {out[2]} "
                    f"(its producer needs into [{offset}, {out[2]}])"
                )
            offset += s[2]  # type: ignore[index]
        if offset != out[2]:
            raise VerifyException(f"inputs have {offset} channels, the result {out[2]}")


@irdl_op_definition
class ViewOp(IRDLOperation):
    """A reshape that moves no data: the result is the input's bytes (module docstring).

        %f = tile.view %x : tensor<1x512x7x7xi8> -> tensor<1x25088xi8>
        %r = tile.view %y : tensor<1x96x56x56xi8> -> tensor<3136x96xi8>
    """

    name = "tile.view"

    input = operand_def(TensorType)
    output = result_def(TensorType)

    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"
    traits = traits_def(Pure())

    def __init__(self, input: SSAValue, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        a, b = dnn.shape_of(self.input), dnn.shape_of(self.output)
        if prod(a) != prod(b):
            raise VerifyException(f"tile.view changes the element count: {list(a)} -> {list(b)}")


Tile = Dialect(
    "tile",
    [LayerOp, TileOp, YieldOp, ConcatOp, ViewOp],
    [TileKindAttr, CoreAttr],
)
