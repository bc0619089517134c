"""`ifp-link`: the assignment it writes into the IR is the linker's (`prepare` + `link` with the
allocation `fv link` makes) on the package the compiler would build from the same frame plan;
frames are balanced over the cores, positions count each core's stream, every phase ends with
a barrier; bad options and inputs are one-line pass failures."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from fvir.codegen.emit import build_package
from fvir.hw import PAPER_U200, TINY
from fvir.ir import ifp
from fvir.ir.dnn import DNN
from fvir.passes import get_all_passes
from fvir.passes.context import FvirContext
from fvir.passes.dnn_tile import DnnTilePass
from fvir.passes.ifp_link import IfpLinkPass
from fvir.passes.tile_compile_frames import compile_frames
from fvir.runtime.linker import link, prepare
from fvir.runtime.memory import make_allocation

# Two quantized convs, then a host softmax (its own phase between two barriers).
MODEL = """
builtin.module attributes {dnn.model = "two"} {
func.func @main(%x: tensor<1x8x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %q = dnn.quantize %x : tensor<1x8x8x8xf32> -> tensor<1x8x8x8xi8, #dnn.fixed<5>>
  %w = dnn.weight "c1.w.q" : tensor<16x8x3x3xi8>
  %b = dnn.weight "c1.b.q" : tensor<16xi32>
  %c = dnn.conv2d %q, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
         act #dnn.act<relu> shift [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9] :
         (tensor<1x8x8x8xi8, #dnn.fixed<5>>, tensor<16x8x3x3xi8>, tensor<16xi32>)
         -> tensor<1x16x8x8xi8, #dnn.fixed<4>>
  %w2 = dnn.weight "c2.w.q" : tensor<16x16x1x1xi8>
  %b2 = dnn.weight "c2.b.q" : tensor<16xi32>
  %d = dnn.conv2d %c, %w2, %b2 strides [2, 2] pads [0, 0, 0, 0] dilations [1, 1]
         act #dnn.act<relu> shift [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8] :
         (tensor<1x16x8x8xi8, #dnn.fixed<4>>, tensor<16x16x1x1xi8>, tensor<16xi32>)
         -> tensor<1x16x4x4xi8, #dnn.fixed<4>>
  %y = dnn.dequantize %d : tensor<1x16x4x4xi8, #dnn.fixed<4>> -> tensor<1x16x4x4xf32>
  %s = dnn.softmax %y axis 1 : tensor<1x16x4x4xf32>
  func.return %s : tensor<1x16x4x4xf32>
}
}
"""


def tiled() -> ModuleOp:
    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    module = Parser(ctx, MODEL).parse_module()
    DnnTilePass(min_tiles=5).apply(FvirContext(target=TINY), module)
    return module


def linked(cores: int) -> tuple[ModuleOp, list]:
    module = tiled()
    compile_frames(module)
    IfpLinkPass(cores=cores).apply(FvirContext(target=TINY), module)
    module.verify()
    (package,) = [op for op in module.walk() if isinstance(op, ifp.PackageOp)]
    return module, package.ops_of(ifp.LayerOp)


def attr(op, name: str) -> int:
    return op.attributes[name].value.data


def test_registered():
    assert get_all_passes()["ifp-link"]() is IfpLinkPass


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
def test_same_assignment_as_linking_the_compiled_plan(cores):
    """The direct path: the frame plan `compile_frames` builds, encoded by `build_package` and
    linked like `fv link` does; the pass goes through the IR and must agree frame by frame."""
    plan = compile_frames(tiled())
    package = build_package(dataclasses.replace(plan, consts=[]), {}, TINY.core,
                            fp32_shadow=False)
    exe = link(prepare(package), make_allocation(package, range(cores), TINY), TINY)
    _, layers = linked(cores)
    frames = [f for layer in layers for f in layer.frames]
    assert [attr(f, "ifp.core") for f in frames] == exe.frame_core.tolist()
    for core in range(cores):
        stream = exe.frames_of(core).tolist()
        assert [attr(frames[i], "ifp.pos") for i in stream] == list(range(len(stream)))


@pytest.mark.parametrize("cores", [1, 2, 3, 4])
def test_balanced_and_barriers(cores):
    module, layers = linked(cores)
    accel = [layer for layer in layers if layer.frames]
    assert len(accel) == 2 and all(len(layer.frames) >= 5 for layer in accel)
    for layer in accel:
        counts = Counter(attr(f, "ifp.core") for f in layer.frames)
        assert set(counts) == set(range(cores))
        assert max(counts.values()) - min(counts.values()) <= 1
    host = [layer for layer in layers if layer.kind.data == "host"]
    assert len(host) == 1
    phased = [layer for layer in layers if "ifp.phase" in layer.attributes]
    assert [attr(layer, "ifp.phase") for layer in phased] == [0, 1, 2]
    assert [attr(layer, "ifp.barrier") for layer in phased] == [0, 1, 2]
    assert {attr(layer, "ifp.barrier_count") for layer in phased} == {cores}
    (package,) = [op for op in module.walk() if isinstance(op, ifp.PackageOp)]
    assert attr(package, "ifp.cores") == cores
    assert package.attributes["ifp.hw"].data == "tiny"


def test_snake_order_on_two_cores():
    _, layers = linked(2)
    for layer in layers:
        if layer.frames:
            ranked = sorted(layer.frames, key=lambda f: (-f.cost.value.data,
                                                         f.tile.value.data))
            snake = [0, 1, 1, 0] * 4
            assert [attr(f, "ifp.core") for f in ranked] == snake[:len(ranked)]


@pytest.mark.parametrize(("options", "message"), [
    ({"cores": 0}, "cores must be in 1..4 (the cores of pool 'tiny'), got 0"),
    ({"cores": 5}, "cores must be in 1..4 (the cores of pool 'tiny'), got 5"),
])
def test_errors(options, message):
    module = tiled()
    compile_frames(module)
    with pytest.raises(PassFailedException, match=r"^ifp-link: .*" + re.escape(message)):
        IfpLinkPass(**options).apply(FvirContext(target=TINY), module)


def test_a_package_for_another_core_is_refused():
    module = tiled()
    compile_frames(module)
    with pytest.raises(PassFailedException, match="compiled for another core"):
        IfpLinkPass(cores=2).apply(FvirContext(target=PAPER_U200), module)


def test_needs_a_package():
    with pytest.raises(PassFailedException, match=r"expected one ifp\.package .* found 0"):
        IfpLinkPass().apply(FvirContext(target=TINY), tiled())
