"""`dnn-fold-batchnorm`: fold an inference batchnorm into the conv2d or dense that feeds it.

`batchnorm(conv(x, w, b))` is, per output channel `o`, an affine map of the conv's output, so
it can be absorbed into the conv's weight and bias and disappear. The accelerator has no
batchnorm engine; after this pass the layer is a single conv (or dense) again:

    s  = scale / sqrt(var + epsilon)
    w' = w * s[o]                     (scaling output channel o, weight axis 0)
    b' = (b - mean) * s + bn_bias     (b = 0 when the producer has no bias)

Weights normally live outside the IR, in a `WeightStore` (`fvir.ir.weights`), and a
`ModulePass` run by `fv-opt` has no store. So the rewrite and the numbers are decoupled:

- `fold_batchnorm(module, weights)` is the entry point for Python callers. With a store, it
  computes w' and b', adds them to the store under new names and points new `dnn.weight` ops at
  them. The store is used by duck typing (`store[name]`, `store[name] = array`, `name in
  store`), so a dict works too and this module does not import the frontend.
- When every source is a `dnn.constant`, no store is needed: w' and b' become new constants.
- When the sources are `dnn.weight`s and there is no store (the `fv-opt` pass), the IR is
  still rewritten: the new `dnn.weight` ops carry a discardable attribute
  `dnn.fold = {weight, bias (if any), bn_scale, bn_bias, bn_mean, bn_var, epsilon, out}`
  (source weight names, epsilon, `out` = "w" or "b"), and `materialize_folds(module, weights)`
  computes and stores the arrays later. A mix of constants and store-less weights is left alone.

New weights are named `<producer weight name>.bnfold.w` / `.bnfold.b` (`.bnfold1.w`, ... if
the name is taken).

Algorithm, for every `y = dnn.batchnorm(p, scale, bias, mean, var)`:
1. `p` must be the only use of a `dnn.conv2d`, or of a `dnn.dense` with `trans_b` (weight
   [N, K]), `beta` = 1 and a bias of shape [N] or none; and without a fused `act`, which
   would apply between the producer and the batchnorm (it does not commute with an affine map).
2. The producer's weight and bias and the four batchnorm parameters must be `dnn.weight` or
   `dnn.constant` ops (values computed at run time cannot be folded offline); computing the
   numbers needs a float weight type (f16/f32/f64).
3. Compute w', b' (constants / store) or record the recipe (no store), as above.
4. Replace `y` by a copy of the producer that uses w' and b'; erase the old producer and the
   source ops that have no use left.
5. A batchnorm of a batch-1 image that step 1 finds no producer for (DenseNet's pre-activation
   batchnorms) is a per-channel affine map: it becomes a 1x1 depthwise conv2d with w' and b'
   folded from unit weights (`fold_arrays(ones, None, ...)`), which the accelerator runs. This
   needs the numbers now: stored weights (new names `<scale name>.bnaffine.w` / `.b`) or
   constants; without a store the batchnorm stays (a host op).
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from fvir.ir import dnn
from fvir.passes import context

FOLD_ATTR = "dnn.fold"

# Recipe keys, in the order of `fold_arrays`'s arguments. `bias` is absent when there is none.
_SOURCES = ("weight", "bias", "bn_scale", "bn_bias", "bn_mean", "bn_var")

_DTYPES: dict[type[Attribute], type[np.floating[Any]]] = {
    Float16Type: np.float16,
    Float32Type: np.float32,
    Float64Type: np.float64,
}


class WeightStoreLike(Protocol):
    """What this pass needs of `fvir.ir.weights.WeightStore` (a dict also fits)."""

    def __getitem__(self, name: str) -> np.ndarray: ...
    def __setitem__(self, name: str, value: np.ndarray) -> None: ...
    def __contains__(self, name: object) -> bool: ...


def fold_arrays(
    w: np.ndarray,
    b: np.ndarray | None,
    scale: np.ndarray,
    bn_bias: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(w', b') for a batchnorm over the output channels (axis 0 of `w`); float64 math."""
    s = np.asarray(scale, np.float64) / np.sqrt(np.asarray(var, np.float64) + epsilon)
    b0 = np.zeros_like(s) if b is None else np.asarray(b, np.float64)
    w_folded = np.asarray(w, np.float64) * s.reshape((-1,) + (1,) * (np.ndim(w) - 1))
    b_folded = (b0 - np.asarray(mean, np.float64)) * s + np.asarray(bn_bias, np.float64)
    dtype = np.asarray(w).dtype
    return w_folded.astype(dtype), b_folded.astype(dtype)


def _dtype(value: SSAValue) -> type[np.floating[Any]] | None:
    ty = value.type
    assert isinstance(ty, TensorType)
    return _DTYPES.get(type(ty.element_type))


def _producer(bn: dnn.BatchNormOp) -> dnn.Conv2dOp | dnn.DenseOp | None:
    """The conv2d / dense that step 1 of the algorithm can fold `bn` into, if any."""
    p = bn.input.owner
    if not isinstance(p, dnn.Conv2dOp | dnn.DenseOp) or p.act is not None:
        return None
    if not bn.input.has_one_use():
        return None
    if isinstance(p, dnn.DenseOp):
        n = dnn.shape_of(p.output)[1]
        if p.trans_b is None or p.beta.value.data != 1.0:
            return None
        if p.bias is not None and dnn.shape_of(p.bias) != (n,):
            return None
    return p


def _rebuild(p: dnn.Conv2dOp | dnn.DenseOp, w: SSAValue, b: SSAValue) -> Operation:
    """A copy of the producer `p` with weight `w` and bias `b`."""
    if isinstance(p, dnn.Conv2dOp):
        new: Operation = dnn.Conv2dOp(
            p.input,
            w,
            b,
            strides=dnn.ints(p.strides),
            pads=dnn.ints(p.pads),
            dilations=dnn.ints(p.dilations),
            group=p.groups,
        )
    else:
        new = dnn.DenseOp(
            p.input,
            w,
            b,
            trans_a=p.trans_a is not None,
            trans_b=True,
            alpha=p.alpha.value.data,
        )
    new.attributes.update(p.attributes)
    return new


@dataclass
class FoldBatchnorm(RewritePattern):
    """batchnorm(conv2d(x, w, b)) -> conv2d(x, w', b'); likewise for dense with trans_b."""

    weights: WeightStoreLike | None = None
    taken: set[str] = field(default_factory=set)  # weight names already in use
    folded: int = 0

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: dnn.BatchNormOp, rewriter: PatternRewriter) -> None:
        if (p := _producer(bn)) is None:
            return
        operands = (p.weight, p.bias, bn.scale, bn.bias, bn.mean, bn.var)
        sources = {k: v.owner for k, v in zip(_SOURCES, operands, strict=True) if v is not None}
        if not all(isinstance(o, dnn.WeightOp | dnn.ConstantOp) for o in sources.values()):
            return
        if (folded := self._folded(p, bn, sources)) is None:
            return
        new_w, new_b = folded
        # Without hints, replace() would give the new weights the batchnorm's result name.
        b_hint = p.bias.name_hint if p.bias is not None else None
        new_w.results[0].name_hint = p.weight.name_hint or "folded_w"
        new_b.results[0].name_hint = b_hint or "folded_b"
        rewriter.replace(bn, [new_w, new_b, _rebuild(p, new_w.results[0], new_b.results[0])])
        rewriter.erase(p)
        for o in dict.fromkeys(sources.values()):  # deduplicated, in order
            if not o.results[0].uses:
                rewriter.erase(o)
        self.folded += 1

    def _folded(
        self, p: dnn.Conv2dOp | dnn.DenseOp, bn: dnn.BatchNormOp, sources: dict[str, Operation]
    ) -> tuple[Operation, Operation] | None:
        """New ops for w' and b': constants, stored weights or recipes (see the module docs)."""
        eps = bn.epsilon.value.data
        arrays = {k: self._array(o) for k, o in sources.items()}
        if all(a is not None for a in arrays.values()):
            if (dtype := _dtype(p.weight)) is None:  # not a float tensor
                return None
            w, b = fold_arrays(*(arrays.get(k) for k in _SOURCES), eps)
            w, b = w.astype(dtype), b.astype(dtype)
            if all(isinstance(o, dnn.ConstantOp) for o in sources.values()):
                return _constant(p.weight, w), _constant(p.weight, b)
            return self._stored(sources, p.weight, w, "w"), self._stored(sources, p.weight, b, "b")
        if not all(isinstance(o, dnn.WeightOp) for o in sources.values()):
            return None
        recipe: dict[str, Attribute] = {
            k: StringAttr(o.sym.data) for k, o in sources.items() if isinstance(o, dnn.WeightOp)
        }
        recipe["epsilon"] = dnn.f64_attr(eps)
        w_shape, c = dnn.shape_of(p.weight), dnn.shape_of(bn.scale)[0]
        return (
            self._recipe(sources, p.weight, w_shape, {**recipe, "out": StringAttr("w")}),
            self._recipe(sources, p.weight, (c,), {**recipe, "out": StringAttr("b")}),
        )

    def _array(self, op: Operation) -> np.ndarray | None:
        if isinstance(op, dnn.ConstantOp):
            return np.asarray(op.value.get_values(), np.float64).reshape(op.value.get_shape())
        assert isinstance(op, dnn.WeightOp)
        if self.weights is None or op.sym.data not in self.weights:
            return None
        return np.asarray(self.weights[op.sym.data])

    def _new_name(self, sources: dict[str, Operation], suffix: str) -> str:
        # Named after the producer's weight (first in `sources`), else a batchnorm parameter.
        base = next(o.sym.data for o in sources.values() if isinstance(o, dnn.WeightOp))
        name, n = f"{base}.bnfold.{suffix}", 1
        while name in self.taken or (self.weights is not None and name in self.weights):
            name, n = f"{base}.bnfold{n}.{suffix}", n + 1
        self.taken.add(name)
        return name

    def _stored(
        self, sources: dict[str, Operation], like: SSAValue, a: np.ndarray, suffix: str
    ) -> Operation:
        assert self.weights is not None
        name = self._new_name(sources, suffix)
        self.weights[name] = a
        return dnn.WeightOp(name, _tensor_type(like, a.shape))

    def _recipe(
        self,
        sources: dict[str, Operation],
        like: SSAValue,
        shape: tuple[int, ...],
        recipe: dict[str, Attribute],
    ) -> Operation:
        out = recipe["out"]
        assert isinstance(out, StringAttr)
        op = dnn.WeightOp(self._new_name(sources, out.data), _tensor_type(like, shape))
        op.attributes[FOLD_ATTR] = DictionaryAttr(recipe)
        return op


def _tensor_type(like: SSAValue, shape: tuple[int, ...]) -> TensorType:
    ty = like.type
    assert isinstance(ty, TensorType)
    return TensorType(ty.element_type, list(shape))


@dataclass
class StandaloneBatchnorm(RewritePattern):
    """batchnorm(x) of a batch-1 image with no producer to fold into -> a 1x1 depthwise
    conv2d (step 5 of the module docstring)."""

    weights: WeightStoreLike | None = None
    taken: set[str] = field(default_factory=set)
    converted: int = 0

    @op_type_rewrite_pattern
    def match_and_rewrite(self, bn: dnn.BatchNormOp, rewriter: PatternRewriter) -> None:
        shape = dnn.shape_of(bn.input)
        if _producer(bn) is not None or len(shape) != 4 or shape[0] != 1:
            return
        if (dtype := _dtype(bn.input)) is None:
            return
        params = (bn.scale, bn.bias, bn.mean, bn.var)
        arrays = [self._array(v.owner) for v in params]
        if any(a is None for a in arrays):
            return
        channels = shape[1]
        ones = np.ones((channels, 1, 1, 1), np.float64)
        w, b = fold_arrays(ones, None, *arrays, bn.epsilon.value.data)  # type: ignore[misc]
        w_op, b_op = self._new(bn, w.astype(dtype), "w"), self._new(bn, b.astype(dtype), "b")
        # Without hints, replace() would give the new weights the batchnorm's result name.
        w_op.results[0].name_hint, b_op.results[0].name_hint = "affine_w", "affine_b"
        conv = dnn.Conv2dOp(bn.input, w_op.results[0], b_op.results[0], group=channels)
        rewriter.replace(bn, [w_op, b_op, conv])
        for v in dict.fromkeys(v.owner for v in params):
            if isinstance(v, Operation) and not v.results[0].uses:
                rewriter.erase(v)
        self.converted += 1

    def _array(self, op: object) -> np.ndarray | None:
        if isinstance(op, dnn.ConstantOp):
            return np.asarray(op.value.get_values(), np.float64).reshape(op.value.get_shape())
        if isinstance(op, dnn.WeightOp) and self.weights is not None:
            return np.asarray(self.weights[op.sym.data]) if op.sym.data in self.weights else None
        return None

    def _new(self, bn: dnn.BatchNormOp, a: np.ndarray, suffix: str) -> Operation:
        if self.weights is None:  # every parameter a constant
            return _constant(bn.input, a)
        scale = bn.scale.owner
        base = scale.sym.data if isinstance(scale, dnn.WeightOp) else "batchnorm"
        name, n = f"{base}.bnaffine.{suffix}", 1
        while name in self.taken or name in self.weights:
            name, n = f"{base}.bnaffine{n}.{suffix}", n + 1
        self.taken.add(name)
        self.weights[name] = a
        return dnn.WeightOp(name, _tensor_type(bn.input, a.shape))


def _constant(like: SSAValue, a: np.ndarray) -> Operation:
    ty = _tensor_type(like, a.shape)
    return dnn.ConstantOp(DenseIntOrFPElementsAttr.from_list(ty, a.ravel().tolist()))


def _weight_names(module: builtin.ModuleOp) -> set[str]:
    return {op.sym.data for op in module.walk() if isinstance(op, dnn.WeightOp)}


def fold_batchnorm(module: builtin.ModuleOp, weights: WeightStoreLike | None = None) -> int:
    """Fold every foldable batchnorm in `module` and turn the other ones of images into
    depthwise convs (steps 1-5); returns how many were folded."""
    taken = _weight_names(module)
    pattern = FoldBatchnorm(weights, taken)
    standalone = StandaloneBatchnorm(weights, taken)
    PatternRewriteWalker(
        GreedyRewritePatternApplier([pattern, standalone], dce_enabled=False)
    ).rewrite_module(module)
    return pattern.folded


def materialize_folds(module: builtin.ModuleOp, weights: WeightStoreLike) -> int:
    """Compute the arrays of `dnn.weight`s that carry a `dnn.fold` recipe, add them to
    `weights` and drop the recipe; returns how many were materialized."""
    count = 0
    for op in module.walk():
        if not isinstance(op, dnn.WeightOp) or FOLD_ATTR not in op.attributes:
            continue
        recipe = op.attributes.pop(FOLD_ATTR)
        assert isinstance(recipe, DictionaryAttr)
        names = {k: v.data for k, v in recipe.data.items() if isinstance(v, StringAttr)}
        epsilon = recipe.data["epsilon"]
        assert isinstance(epsilon, builtin.FloatAttr)
        args = [None if k not in names else weights[names[k]] for k in _SOURCES]
        w, b = fold_arrays(*args, epsilon.value.data)
        weights[op.sym.data] = w if names["out"] == "w" else b
        count += 1
    return count


@dataclass(frozen=True)
class DnnFoldBatchnormPass(ModulePass):
    """Folds inference batchnorms into the preceding conv2d or dense (trans_b)."""

    name = "dnn-fold-batchnorm"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # Without a store (plain xdsl-opt), dnn.weight sources get a `dnn.fold` recipe.
        fold_batchnorm(op, context.weights(ctx))
