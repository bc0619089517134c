"""`dnn-canonicalize`: remove and merge the layout no-ops that ONNX exporters leave behind,
move elementwise activations out of their way, and join the SiLU that exporters split.

`dnn.reshape`, `dnn.flatten` and `dnn.transpose` between layers cost a pass over memory on the
accelerator (or a host round trip), yet exporters emit many that do nothing: identity reshapes,
transposes that only move size-1 dims, reshape chains, `Flatten` before a `Gemm` on an input
that is already 2-D. This pass rewrites them to a canonical form:

- a reshape or flatten to its input's own type disappears (e.g. a flatten feeding a dense
  from an input that is already 2-D);
- a chain of reshapes/flattens becomes one op from the chain's source: a flatten if the last
  op was a flatten expressible on the source (axis 1 preferred), else a reshape;
- a reshape from `[N, C, 1, ..., 1]` to `[N, C]` (the `GlobalPool -> Flatten/Reshape -> Gemm`
  idiom, so also any reshape/flatten chain from such a tensor into a dense) is written
  `dnn.flatten` with axis 1. That is the canonical form: it says "drop the unit spatial dims"
  and the dense lowering matches on it. Other reshapes stay `dnn.reshape`, other flattens
  `dnn.flatten`;
- a transpose with the identity perm disappears; one that only moves size-1 dims and keeps the
  order of the others does not move data and becomes a reshape;
- transpose(transpose(x)) becomes one transpose with the composed perm;
- a chain of reshapes/flattens/transposes that leaves the elements in their order becomes one
  reshape of the chain's source (nothing if the shapes are equal). PyTorch's channels-last
  Linear imports as rows -> transpose -> [1, C, HW, 1] conv -> transpose -> rows, so two
  Linears in a row (ConvNeXt's MLP) leave transpose/reshape chains that undo each other;
- an elementwise activation moves above the single-use reshape/flatten/transpose that feeds
  it: f(layout(x)) = layout(f(x)) for any f applied per element. Where GELU sits between two
  channels-last Linears this lets the chains on its two sides meet (and collapse).
  Elementwise here means gelu, relu, clip, leaky_relu, sigmoid, tanh, hardswish,
  hardsigmoid and silu: each reads one element and position-independent parameters. Softmax and
  layer_norm read along an axis and stay where they are. The op does not move onto a shape
  the accelerator could not run it on (e.g. a batch-4 tensor) from one it could:
  `dnn-quantize`, which runs later, would leave it float on the host;
- x * sigmoid(x) whose sigmoid nothing else uses (SiLU as PyTorch exports it) becomes one
  `dnn.silu`: one lookup table on the accelerator, rounded once in int8, where the sigmoid's
  table and an elementwise multiply rounded twice.

Algorithm (patterns applied greedily to a fixpoint; steps 1-3 each strictly shorten a chain or
remove an op, step 4 only moves activations up, so it terminates):
1. For reshape/flatten `y = r(x)`: follow `x` up through reshape/flatten ops to the source.
   Build the canonical op from the source to `y`'s type (nothing, a flatten or a reshape) and
   replace `y` if that differs from the current op (kind, axis or input).
2. For transpose `y = t(x)`: if `x = t'(x')` is a transpose, compose the perms
   (`perm[i] = perm'[perm[i]]`) onto `x'`. An identity perm gives `x'`; a perm that only
   moves unit dims gives a reshape (step 1 then canonicalizes it).
3. For transpose `y = t(x)` ending a chain of two or more reshape/flatten/transpose ops:
   push an index array (`np.arange` in the source's shape) down the chain. The farthest value
   of the chain whose flat index order equals `y`'s is where `y`'s elements are already in
   order: `y` becomes a reshape of it, or that value itself if the types are equal. Only a
   transpose can reorder elements, so checking the chains that end in one finds them all.
4. For an elementwise activation `y = f(l(x))` whose input comes from a reshape, flatten or
   transpose `l` with no other use: rebuild it as `l(f(x))` (`f` keeps its element type, and
   so its int8 exponent), unless the accelerator can run `f` on `l(x)`'s shape but not on
   `x`'s.
5. For `y = mul(x, s)` (or `mul(s, x)`) with `s = sigmoid(x)` used only there and `y` of
   `x`'s (float) type: replace `y` by `silu(x)` and erase the sigmoid.
6. Like MLIR's canonicalizer, dead pure ops left behind are erased.

In the pipeline (`fvir-compile`) this pass runs before `dnn-quantize` on float IR. Steps 3 and
4 keep every value's set of elements, hence its calibration max |x| and exponent: the int8
module computes the same numbers, only in fewer layout ops.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from fvir.hw import capability
from fvir.ir import dnn


def _is_flatten_of_unit_dims(src: dnn.Shape, dst: dnn.Shape) -> bool:
    """[N, C, 1, ..., 1] -> [N, C] (at least one trailing unit dim)."""
    return len(src) > 2 and all(d == 1 for d in src[2:]) and dst == src[:2]


def _flatten_axis(src: dnn.Shape, dst: dnn.Shape) -> int | None:
    """An axis with flatten(src, axis) == dst, trying 1 (the usual one) first."""
    axes = sorted(range(len(src) + 1), key=lambda a: a != 1)
    return next((a for a in axes if dnn.flatten_shape(src, a) == dst), None)


_Form = tuple[str, int]  # ("flatten", axis) or ("reshape", 0)


def _canonical_form(src: dnn.Shape, dst: dnn.Shape, is_flatten: bool) -> _Form | None:
    """How to turn `src` into `dst` without moving data; None: it already is `dst`."""
    if src == dst:
        return None
    if _is_flatten_of_unit_dims(src, dst):
        return ("flatten", 1)
    if is_flatten and (axis := _flatten_axis(src, dst)) is not None:
        return ("flatten", axis)
    return ("reshape", 0)


def _form_of(op: dnn.ReshapeOp | dnn.FlattenOp) -> _Form:
    return ("flatten", op.axis.value.data) if isinstance(op, dnn.FlattenOp) else ("reshape", 0)


class CanonicalizeReshape(RewritePattern):
    """Identity reshapes vanish, chains collapse, [N,C,1,1] -> [N,C] becomes a flatten."""

    @op_type_rewrite_pattern
    def match_and_rewrite(
        self, op: dnn.ReshapeOp | dnn.FlattenOp, rewriter: PatternRewriter
    ) -> None:
        source = op.input
        while isinstance(inner := source.owner, dnn.ReshapeOp | dnn.FlattenOp):
            source = inner.input  # the whole chain: the result does not depend on visit order
        dst = dnn.shape_of(op.output)
        form = _canonical_form(dnn.shape_of(source), dst, isinstance(op, dnn.FlattenOp))
        if form is None:
            if source.type == op.output.type:  # not when the element type differs
                rewriter.replace(op, [], [source])
        elif source is not op.input or form != _form_of(op):
            kind, axis = form
            new = dnn.FlattenOp(source, axis) if kind == "flatten" else dnn.ReshapeOp(source, dst)
            rewriter.replace(op, [new])


def _is_identity(perm: Sequence[int]) -> bool:
    return list(perm) == list(range(len(perm)))


def _moves_only_unit_dims(shape: dnn.Shape, perm: Sequence[int]) -> bool:
    """The non-unit dims keep their relative order, so the data order is unchanged."""
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


class CanonicalizeTranspose(RewritePattern):
    """Identity transposes vanish, transpose chains compose, unit-dim moves become reshapes."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dnn.TransposeOp, rewriter: PatternRewriter) -> None:
        source, perm = op.input, dnn.ints(op.perm)
        if isinstance(inner := source.owner, dnn.TransposeOp):
            inner_perm = dnn.ints(inner.perm)
            source, perm = inner.input, tuple(inner_perm[p] for p in perm)
        if _is_identity(perm):
            rewriter.replace(op, [], [source])
        elif _moves_only_unit_dims(dnn.shape_of(source), perm):
            reshape = dnn.ReshapeOp(source, dnn.shape_of(op.output))
            rewriter.replace(op, [reshape])
        elif source is not op.input:
            rewriter.replace(op, [dnn.TransposeOp(source, perm)])


_Layout = dnn.ReshapeOp | dnn.FlattenOp | dnn.TransposeOp


def _layout_chain(value: SSAValue) -> list[SSAValue]:
    """`value` and the values it is a reshape/flatten/transpose chain of, nearest first."""
    chain = [value]
    while isinstance(owner := chain[-1].owner, _Layout):
        chain.append(owner.input)
    return chain


def _move(op: _Layout, data: np.ndarray) -> np.ndarray:
    """What `op` does to a numpy array of its input's shape."""
    if isinstance(op, dnn.TransposeOp):
        return data.transpose(dnn.ints(op.perm))
    return data.reshape(dnn.shape_of(op.output))


def _in_order_source(op: dnn.TransposeOp) -> SSAValue | None:
    """The farthest value up `op`'s layout chain whose elements `op`'s result holds in the same
    order, if it lies beyond `op`'s input: push `np.arange` down the chain and compare each
    value's flat index order with the result's."""
    chain = _layout_chain(op.input)[::-1]  # source first
    if len(chain) < 2:
        return None
    source_shape = dnn.shape_of(chain[0])
    data = np.arange(prod(source_shape)).reshape(source_shape)
    orders = [data.ravel()]
    for value in chain[1:]:
        owner = value.owner
        assert isinstance(owner, _Layout)
        data = _move(owner, data)
        orders.append(data.ravel())
    result = _move(op, data).ravel()
    for value, order in zip(chain[:-1], orders[:-1], strict=True):  # beyond op's input
        if np.array_equal(order, result):
            return value
    return None


class CollapseLayoutChain(RewritePattern):
    """A layout chain ending in a transpose that leaves the elements in order becomes a reshape.

    Valid because reshape and flatten keep the row-major element order and a transpose only
    permutes elements: if the chain's result holds the elements of a value `v` up the chain in
    `v`'s own order (checked exactly on an index array), it equals `reshape(v)`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dnn.TransposeOp, rewriter: PatternRewriter) -> None:
        source = _in_order_source(op)
        if source is None:
            return
        if source.type == op.output.type:
            rewriter.replace(op, [], [source])
            return
        reshape = dnn.ReshapeOp(source, dnn.shape_of(op.output))
        if reshape.output.type != op.output.type:  # another element type: leave it
            reshape.erase()
            return
        rewriter.replace(op, [reshape])


_Elementwise = (
    dnn.GeluOp | dnn.ReluOp | dnn.ClipOp | dnn.LeakyReluOp | dnn.SigmoidOp | dnn.TanhOp
    | dnn.HardSwishOp | dnn.HardSigmoidOp | dnn.SiluOp
)


class HoistElementwise(RewritePattern):
    """f(layout(x)) -> layout(f(x)) for an elementwise activation f and a single-use layout op.

    Valid because f computes each output element from the input element at the same position
    with parameters that do not depend on the position, while reshape, flatten and transpose
    only move elements: applying f before or after the move gives the same tensor. The layout
    op must have no other use, or it would stay and the move would add an op."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: _Elementwise, rewriter: PatternRewriter) -> None:
        layout = op.input.owner
        if not isinstance(layout, _Layout) or not layout.output.has_one_use():
            return
        out = op.output.type
        assert isinstance(out, TensorType)
        hoisted = type(op).create(
            operands=[layout.input],
            result_types=[TensorType(out.element_type, dnn.shape_of(layout.input), out.encoding)],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        if capability.problem(hoisted) is not None and capability.problem(op) is None:
            hoisted.erase()  # the accelerator would lose it to the host
            return
        moved = type(layout).create(
            operands=[hoisted.output],
            result_types=[out],
            properties=dict(layout.properties),
            attributes=dict(layout.attributes),
        )
        hoisted.output.name_hint = op.output.name_hint
        moved.output.name_hint = layout.output.name_hint
        rewriter.replace(op, [hoisted, moved])
        rewriter.erase(layout)


class JoinSilu(RewritePattern):
    """x * sigmoid(x) -> silu(x) where nothing else uses the sigmoid: SiLU as PyTorch exports
    it. One lookup table where int8 rounded twice (the sigmoid's table, then the multiply)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: dnn.MulOp, rewriter: PatternRewriter) -> None:
        for x, s in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            sigmoid = s.owner
            if (isinstance(sigmoid, dnn.SigmoidOp) and sigmoid.input is x
                    and s.has_one_use() and op.output.type == x.type
                    and dnn.fixed_frac(x) is None):  # int8 IR: its roundings are fixed
                silu = dnn.SiluOp(x)
                silu.output.name_hint = op.output.name_hint
                rewriter.replace(op, silu)
                rewriter.erase(sigmoid)
                return


@dataclass(frozen=True)
class DnnCanonicalizePass(ModulePass):
    """Removes and merges no-op layout ops, lifts activations above them, joins SiLU.

    Elementwise activations move above a single-use layout op so that the chains on both
    sides of them can collapse (the module docstring)."""

    name = "dnn-canonicalize"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([
                CanonicalizeReshape(),
                CanonicalizeTranspose(),
                CollapseLayoutChain(),
                HoistElementwise(),
                JoinSilu(),
            ])
        ).rewrite_module(op)
