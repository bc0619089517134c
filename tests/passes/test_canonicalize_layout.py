"""dnn-canonicalize on layout chains through transposes and on elementwise activations moved
above layout ops: random reshape/transpose chains keep their values (and a chain followed by
its inverse vanishes), and ConvNeXt's block compiles with fewer host layers (its bit-exactness
on 1 and 3 cores and fp32 against onnxruntime: tests/compiler/test_cnn_ops.py)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from math import prod

import numpy as np
import onnx
import pytest
from compiler.models import compile_keeping_reference  # tests/compiler
from compiler.test_cnn_ops import convnext_block
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType, f32
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriteWalker

from fvir import zoo
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.hw import PAPER_U200
from fvir.ifp.package import Package
from fvir.ir import dnn
from fvir.ir.functions import main_function
from fvir.passes import dnn_canonicalize, fvir_compile
from fvir.passes.dnn_canonicalize import DnnCanonicalizePass
from fvir.passes.dnn_fold_batchnorm import DnnFoldBatchnormPass
from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
from fvir.reference.executor import run as run_float

Step = tuple[str, tuple[int, ...]]  # ("transpose", perm) or ("reshape", shape)
Activation = Callable[[SSAValue], Operation]

_LAYOUT = (dnn.ReshapeOp, dnn.FlattenOp, dnn.TransposeOp)
_ACTIVATIONS: list[Activation] = [
    dnn.GeluOp, dnn.ReluOp, dnn.SigmoidOp, dnn.TanhOp, dnn.HardSwishOp,
    lambda x: dnn.ClipOp(x, 0.0, 6.0), lambda x: dnn.LeakyReluOp(x, 0.1),
]

# ------------------------------------------------------------------- random layout chains
#
# A tensor's elements are indexed by "atoms" (here 120 = 2 * 2 * 2 * 3 * 5, shuffled): a reshape
# groups the atoms, in their current memory order, into dims; a transpose permutes the dims,
# so the atoms move in blocks. Tracking the atoms' memory order gives chains that put every
# element back where it was without mirroring themselves (a chain followed by its mirror image
# cancels from the middle with the plain transpose/transpose and reshape/reshape rules).


def _atoms(rng: np.random.Generator) -> list[int]:
    atoms = [2, 2, 2, 3, 5]
    rng.shuffle(atoms)
    return atoms


def _grouping(rng: np.random.Generator, m: int) -> list[list[int]]:
    """Positions 0..m-1 cut into 1 to 4 runs of consecutive positions."""
    cuts = sorted(rng.choice(np.arange(1, m), size=int(rng.integers(0, min(3, m - 1) + 1)),
                             replace=False).tolist())
    bounds = [0, *cuts, m]
    return [list(range(a, b)) for a, b in pairwise(bounds)]


def _random_chain(rng: np.random.Generator, atoms: list[int], length: int,
                  restore: bool) -> tuple[tuple[int, ...], list[Step]]:
    """A source shape and a chain of reshapes and transposes on it; with `restore`, the chain
    ends by putting the atoms back in their source order (a reshape to single atoms, the
    transpose that sorts them, a reshape to the source shape)."""
    order = list(range(len(atoms)))  # the atom at each memory position
    groups = _grouping(rng, len(atoms))
    shape = tuple(prod(atoms[order[i]] for i in g) for g in groups)
    source, steps = shape, []
    for _ in range(length):
        if rng.random() < 0.5:
            perm = [int(p) for p in rng.permutation(len(groups))]
            order = [order[i] for p in perm for i in groups[p]]
            steps.append(("transpose", tuple(perm)))
            sizes = [len(groups[p]) for p in perm]
            starts = np.cumsum([0, *sizes[:-1]])
            groups = [list(range(a, a + n)) for a, n in zip(starts, sizes, strict=True)]
        else:
            groups = _grouping(rng, len(atoms))
            steps.append(("reshape", tuple(prod(atoms[order[i]] for i in g) for g in groups)))
    if restore:
        steps.append(("reshape", tuple(atoms[a] for a in order)))
        steps.append(("transpose", tuple(int(p) for p in np.argsort(order))))
        steps.append(("reshape", source))
    return source, steps


def _module(shape: tuple[int, ...], steps: list[Step | Activation]) -> ModuleOp:
    """`@main(x)`: the steps applied to x in order (a callable builds an activation)."""
    block = Block(arg_types=[TensorType(f32, shape)])
    value: SSAValue = block.args[0]
    for step in steps:
        if callable(step):
            op = step(value)
        elif step[0] == "transpose":
            op = dnn.TransposeOp(value, step[1])
        else:
            op = dnn.ReshapeOp(value, step[1])
        block.add_op(op)
        value = op.results[0]
    block.add_op(func.ReturnOp(value))
    fn_type = FunctionType.from_lists([block.args[0].type], [value.type])
    module = ModuleOp([func.FuncOp("main", fn_type, Region(block))])
    module.verify()
    return module


def _layout_ops(module: ModuleOp) -> int:
    return sum(isinstance(op, _LAYOUT) for op in module.walk())


def _canonicalize(module: ModuleOp) -> ModuleOp:
    DnnCanonicalizePass().apply(Context(), module)
    module.verify()
    return module


@pytest.mark.parametrize("seed", range(40))
def test_chain_back_to_the_source_order_vanishes(seed: int) -> None:
    """A chain that puts every element back where it was leaves nothing but the return."""
    rng = np.random.default_rng(seed)
    shape, steps = _random_chain(rng, _atoms(rng), int(rng.integers(1, 5)), restore=True)
    x = rng.standard_normal(shape).astype(np.float32)
    module = _module(shape, steps)
    np.testing.assert_array_equal(run_float(module, {}, [x])[0], x)  # the chain is a no-op
    body = [op.name for op in _canonicalize(module).walk()]
    assert body == ["builtin.module", "func.func", "func.return"]


@pytest.mark.parametrize("seed", range(40))
def test_random_chains_keep_their_values(seed: int) -> None:
    """Any chain, with an activation somewhere in it for odd seeds, computes the same after
    the pass, with no more layout ops; data movement alone is exact."""
    rng = np.random.default_rng(seed)
    shape, chain = _random_chain(rng, _atoms(rng), int(rng.integers(2, 7)),
                                 restore=bool(rng.integers(2)))
    steps: list[Step | Activation] = list(chain)
    if seed % 2:
        steps.insert(int(rng.integers(len(steps) + 1)), _ACTIVATIONS[seed % len(_ACTIVATIONS)])
    module = _module(shape, steps)
    x = rng.standard_normal(shape).astype(np.float32)
    want = run_float(module, {}, [x])[0]
    before = _layout_ops(module)
    got = run_float(_canonicalize(module), {}, [x])[0]
    assert _layout_ops(module) <= before
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    if seed % 2 == 0:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("activation", range(len(_ACTIVATIONS)))
def test_activation_between_a_chain_and_its_inverse_vanishes(activation: int) -> None:
    """ConvNeXt's shape of the problem: rows -> transpose -> NHWC, the activation, and the
    way back through a flatten; the activation climbs to the source and the two chains
    around it undo each other, leaving only the activation."""
    shape = (1, 4, 6, 1)
    steps: list[Step | Activation] = [
        ("reshape", (4, 6)), ("transpose", (1, 0)), ("reshape", (1, 2, 3, 4)),
        _ACTIVATIONS[activation],
        lambda x: dnn.FlattenOp(x, 3), ("transpose", (1, 0)), ("reshape", shape),
    ]
    module = _canonicalize(_module(shape, steps))
    _, _, act, ret = module.walk()
    assert act.operands[0] is main_function(module).args[0]
    assert ret.operands[0] is act.results[0]


# ------------------------------------------------------------------ ConvNeXt end to end


class _Baseline(DnnCanonicalizePass):
    """dnn-canonicalize with only its reshape and transpose patterns: the pass before chains
    through transposes collapsed and activations moved above layout ops."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier([
            dnn_canonicalize.CanonicalizeReshape(), dnn_canonicalize.CanonicalizeTranspose(),
        ])).rewrite_module(op)


def _host_layers(package: Package) -> list[str]:
    return [layer.name for layer in package.layers if layer.kind == "host"]


@pytest.fixture(scope="module")
def convnext() -> tuple[onnx.ModelProto, Package, ImportedModel]:
    model = convnext_block()
    return (model, *compile_keeping_reference(model, PAPER_U200))


def test_convnext_gelu_sits_between_the_linear_convs() -> None:
    """After the clean-ups GELU reads the first Linear's conv and feeds the second's: no
    layout op between the two Linears."""
    module = import_model(convnext_block()).module
    for p in (DnnFoldBatchnormPass(), DnnFuseActivationPass(), DnnCanonicalizePass()):
        p.apply(Context(), module)
    (gelu,) = [op for op in module.walk() if isinstance(op, dnn.GeluOp)]
    assert isinstance(gelu.input.owner, dnn.Conv2dOp)
    assert [type(u.operation) for u in gelu.output.uses] == [dnn.Conv2dOp]


def test_convnext_block_has_fewer_host_layers(convnext, monkeypatch: pytest.MonkeyPatch) -> None:
    _, package, _ = convnext
    monkeypatch.setattr(fvir_compile, "DnnCanonicalizePass", _Baseline)
    baseline, _ = compile_keeping_reference(convnext_block(), PAPER_U200)
    # 0 < 2: what the collapsed chains leave, dnn-tile's views take (3 < 5 before them)
    assert len(_host_layers(package)) < len(_host_layers(baseline))
    host = [op for ops in package.host_ops().values() for op in ops]
    assert set(host) <= {"transpose", "reshape", "flatten", "quantize", "dequantize"}


@pytest.mark.slow
def test_convnext_tiny_host_layers() -> None:
    """ConvNeXt-T (about 40 s to compile): 98 host layers before the chains through GELU
    collapsed, 62 after (18 blocks, 2 fewer each), none once dnn-tile makes the permutes
    between images and rows views."""
    package, _ = compile_keeping_reference(zoo.build("convnext_tiny"), PAPER_U200)
    assert _host_layers(package) == []
