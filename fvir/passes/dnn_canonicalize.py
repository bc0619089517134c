"""`dnn-canonicalize`: remove and merge the layout no-ops that ONNX exporters leave behind.

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
- transpose(transpose(x)) becomes one transpose with the composed perm.

Algorithm (patterns applied greedily to a fixpoint; each strictly shortens a chain or removes
an op, so it terminates):
1. For reshape/flatten `y = r(x)`: follow `x` up through reshape/flatten ops to the source.
   Build the canonical op from the source to `y`'s type (nothing, a flatten or a reshape) and
   replace `y` if that differs from the current op (kind, axis or input).
2. For transpose `y = t(x)`: if `x = t'(x')` is a transpose, compose the perms
   (`perm[i] = perm'[perm[i]]`) onto `x'`. An identity perm gives `x'`; a perm that only
   moves unit dims gives a reshape (step 1 then canonicalizes it).
3. Like MLIR's canonicalizer, dead pure ops left behind are erased.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

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


@dataclass(frozen=True)
class DnnCanonicalizePass(ModulePass):
    """Removes no-op reshapes/flattens/transposes and merges chains of them."""

    name = "dnn-canonicalize"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([CanonicalizeReshape(), CanonicalizeTranspose()])
        ).rewrite_module(op)
