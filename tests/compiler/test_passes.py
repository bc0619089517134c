"""`dnn-tile` and `tile-compile-frames` decisions on small IR: what becomes a view, a copy or a
host op, and the errors for what cannot be lowered."""

from __future__ import annotations

import re

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.parser import Parser
from xdsl.utils.exceptions import PassFailedException

from fvir.hw import PAPER_U200
from fvir.ir import dnn, ifp, tile
from fvir.ir.dnn import DNN
from fvir.passes.dnn_tile import DnnTilePass
from fvir.passes.tile_compile_frames import TileCompileFramesPass


def parse(text: str) -> ModuleOp:
    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    return Parser(ctx, text).parse_module()


def run(text: str, passes: tuple = ()) -> ModuleOp:
    module = parse(text)
    for p in passes or (DnnTilePass(),):
        p.apply(Context(), module)
    module.verify()
    return module


def ops(module: ModuleOp, kind: type) -> list:
    return [op for op in module.walk() if isinstance(op, kind)]


def test_flatten_feeding_a_host_op_stays_on_the_host():
    m = run("""
      func.func @main(%x: tensor<1x8x4x4xf32>) -> tensor<1x128xf32> {
        %p = dnn.pool2d max %x kernel [2, 2] strides [1, 1] pads [0, 0, 1, 1] :
               tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
        %f = dnn.flatten %p : tensor<1x8x4x4xf32> -> tensor<1x128xf32>
        %s = dnn.leaky_relu %f alpha 1.000000e-01 : tensor<1x128xf32>
        func.return %s : tensor<1x128xf32>
      }""")
    (flatten,) = ops(m, dnn.FlattenOp)
    assert flatten.attributes["dnn.target"].data == "host"  # (c, h, w) order must be built
    assert not ops(m, tile.ViewOp)
    assert len(ops(m, tile.LayerOp)) == 1


def test_flatten_of_a_1x1_image_is_a_view_even_for_the_host():
    m = run("""
      func.func @main(%x: tensor<1x8x4x4xf32>) -> tensor<1x8xf32> {
        %g = dnn.global_pool avg %x : tensor<1x8x4x4xf32> -> tensor<1x8x1x1xf32>
        %f = dnn.flatten %g : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
        %w = dnn.weight "w" : tensor<8x8xf32>
        %y = dnn.dense %f, %w trans_b : (tensor<1x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
        func.return %y : tensor<1x8xf32>
      }""")
    assert len(ops(m, tile.ViewOp)) == 1
    (dense,) = [op for op in ops(m, tile.LayerOp) if op.tile_kind == tile.TileKind.DENSE]
    assert dense.x_chw is None  # (1, 1, C) is already in (c, h, w) order


def test_concat_along_rows_runs_on_the_host():
    m = run("""
      func.func @main(%a: tensor<1x8x4x4xf32>) -> tensor<1x8x8x4xf32> {
        %p = dnn.pool2d max %a kernel [1, 1] strides [1, 1] pads [0, 0, 0, 0] :
               tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
        %c = dnn.concat %p, %p axis 2 : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>)
               -> tensor<1x8x8x4xf32>
        func.return %c : tensor<1x8x8x4xf32>
      }""")
    (concat,) = ops(m, dnn.ConcatOp)
    assert concat.attributes["dnn.target"].data == "host"


def test_a_value_used_twice_in_one_concat_is_copied_once():
    m = run("""
      func.func @main(%a: tensor<1x8x4x4xf32>) -> tensor<1x16x4x4xf32> {
        %p = dnn.pool2d max %a kernel [1, 1] strides [1, 1] pads [0, 0, 0, 0] :
               tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
        %c = dnn.concat %p, %p axis 1 : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>)
               -> tensor<1x16x4x4xf32>
        %r = dnn.relu %c : tensor<1x16x4x4xf32>
        func.return %r : tensor<1x16x4x4xf32>
      }""")
    layers = ops(m, tile.LayerOp)
    assert [layer.tile_kind for layer in layers] == ["pool", "copy", "act"]
    assert [layer.placement for layer in layers] == [(0, 16), (8, 16), None]


def test_marked_host_ops_are_left_alone():
    m = run("""
      func.func @main(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
        %y = dnn.relu %x {dnn.target = "host"} : tensor<1x8x4x4xf32>
        %z = dnn.relu %y {dnn.target = "accel"} : tensor<1x8x4x4xf32>
        func.return %z : tensor<1x8x4x4xf32>
      }""")
    assert len(ops(m, dnn.ReluOp)) == 2  # one on the host, one inside the tile.layer
    assert len(ops(m, tile.LayerOp)) == 1


@pytest.mark.parametrize(("body", "message"), [
    ("""%w = dnn.weight "w" : tensor<8x8x3x3xf32>
        %y = dnn.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
               act #dnn.act<sigmoid> : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>)
               -> tensor<1x8x4x4xf32>""",
     "a fused sigmoid cannot run on the accelerator"),
    ("""%w = dnn.constant dense<1.0> : tensor<8x8x1x1xf32>
        %y = dnn.conv2d %x, %w strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
               : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x4x4xf32>""",
     "weights must be dnn.weight ops"),
    ("""%y = dnn.pool2d max %x kernel [3, 3] strides [1, 1] pads [2, 2, 2, 2] dilations [2, 2]
               {dnn.target = "accel"} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>""",
     "dilated pooling (POOL has no dilation)"),
])
def test_unlowerable_accelerator_ops_are_reported(body, message):
    text = f"""func.func @main(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {{
        {body}
        func.return %y : tensor<1x8x4x4xf32>
      }}"""
    with pytest.raises(PassFailedException, match=re.escape(message)):
        run(text)


def test_compile_frames_needs_a_tiled_module():
    with pytest.raises(PassFailedException, match="run dnn-tile first"):
        run("func.func @main() { func.return }", (TileCompileFramesPass(),))


def test_compile_frames_names_the_package_and_core():
    m = run("""
      builtin.module attributes {dnn.model = "m"} {
        func.func @main(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
          %y = dnn.relu %x : tensor<1x8x4x4xf32>
          func.return %y : tensor<1x8x4x4xf32>
        }
      }""", (DnnTilePass(), TileCompileFramesPass()))
    (package,) = ops(m, ifp.PackageOp)
    assert package.sym_name.data == "m"
    assert package.core.data == PAPER_U200.core.config_hash()
    (layer,) = package.ops_of(ifp.LayerOp)
    assert layer.kind.data == "relu" and len(layer.frames) >= 1
