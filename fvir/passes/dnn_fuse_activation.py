"""`dnn-fuse-activation`: fold a standalone activation into the op that produces its input.

The accelerator applies an activation on the way out of the conv, dense and eltwise engines
for free, so `relu(conv2d(x))` should be one `dnn.conv2d ... act #dnn.act<relu>` rather than a
second pass over the tensor. Every op in `dnn.ACTIVATION_OPS` (relu, clip, leaky_relu, sigmoid,
tanh) is fused through its `.activation()` attribute.

Algorithm, for every activation op `a = act(y)`:
1. `y` must be produced by a `dnn.conv2d`, `dnn.dense` or `dnn.add` that has no `act` yet;
   a second activation has nowhere to go.
2. `y` must have exactly one use (this activation): other users need the pre-activation
   value, which would no longer exist.
3. For `dnn.add`, both operands must already have the result's shape. The eltwise engine adds
   two equal-shape tensors; a broadcast add is lowered differently (for example as a bias add
   or on the host), so it must stay a plain add that a later pass can still rewrite.
4. Set the producer's `act` in place and replace `a` by `y`.
"""

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
from xdsl.utils.exceptions import VerifyException

from fvir.ir import dnn

_Activation = dnn.ReluOp | dnn.ClipOp | dnn.LeakyReluOp | dnn.SigmoidOp | dnn.TanhOp
_Producer = dnn.Conv2dOp | dnn.DenseOp | dnn.AddOp


def _equal_shape_add(add: dnn.AddOp) -> bool:
    out = dnn.shape_of(add.output)
    return dnn.shape_of(add.lhs) == out and dnn.shape_of(add.rhs) == out


class FuseActivation(RewritePattern):
    """act(producer(...)) -> producer(...) act #dnn.act<...>"""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: _Activation, rewriter: PatternRewriter) -> None:
        producer = op.input.owner
        if not isinstance(producer, _Producer) or producer.act is not None:
            return
        if not op.input.has_one_use():
            return
        if isinstance(producer, dnn.AddOp) and not _equal_shape_add(producer):
            return
        try:
            act = op.activation()
        except VerifyException:  # e.g. a clip with an infinite bound has no #dnn.act form
            return
        producer.act = act
        rewriter.notify_op_modified(producer)
        rewriter.replace(op, [], [producer.output])


@dataclass(frozen=True)
class DnnFuseActivationPass(ModulePass):
    """Fuses relu/clip/leaky_relu/sigmoid/tanh into a single-use conv2d, dense or add."""

    name = "dnn-fuse-activation"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # dce off: this pass removes exactly the activations it fuses, nothing else.
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseActivation()], dce_enabled=False)
        ).rewrite_module(op)
