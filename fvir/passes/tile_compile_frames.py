"""`tile-compile-frames`: every tile becomes one instruction frame (`ifp` / `vcore` IR).

Why: a frame is the unit the dynamic linker assigns to cores, so it must be complete (loads of
its input window and weights, compute, saves) and name no core and no absolute address. This
pass turns a module tiled by `dnn-tile` into one `ifp.package` that shows every instruction;
`fvir.codegen.emit` encodes it.

Algorithm (`fvir.codegen.frame_plan.build_plan`, shared with the compiler's direct path):
1. Walk `@main` in order: each `tile.layer` is an accelerator layer, each maximal run of other
   (host) ops a host layer whose `host_ir` is a float32 function; boundary quantize/dequantize
   of the model inputs and outputs are left to the host.
2. Give every DDR value a tensor: model inputs in INPUT, outputs in OUTPUT, the rest in
   ACTIVATION with first-fit reuse after a tensor's last reader; `tile.concat` inputs and
   `tile.view` results share their operand's bytes.
3. Lay out the weights segment (OHWI conv weights, depthwise blocks, row-major dense weights
   with NHWC-permuted columns, int32 biases).
4. Emit each tile's frame: weight/bias LOADs, INIT, per step LOAD - compute - SAVE with
   dependency masks, and a closing fence (see `frame_plan` for the exact sequence).
5. Replace the module's contents by the `ifp.package` (segments, tensors, weight blocks,
   layers of frames of `vcore` ops).
The package is named after the module's `dnn.model` attribute, its core hash and buffer sizes
come from the `tile.hw` / `tile.core` attributes `dnn-tile` left.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import StringAttr
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from fvir.codegen import quant_params as qp
from fvir.codegen.frame_plan import SEGMENTS, Plan, PlanError, build_plan
from fvir.errors import UserError
from fvir.hw import load_hw
from fvir.ir import ifp, tile
from fvir.ir.vcore import VCoreOp


def plan_to_ir(plan: Plan, core_hash: str, buffers: tuple[int, int, int]) -> ifp.PackageOp:
    """The `ifp.package` of a frame plan."""
    seg_names = [name for name, _ in SEGMENTS]
    ops: list = [ifp.SegmentOp(name, kind, size)
                 for (name, kind), size in zip(SEGMENTS, plan.segment_sizes, strict=True)]
    names = [t.name for t in plan.tensors]
    ops += [ifp.TensorOp(t.name, seg_names[t.segment], t.offset, t.shape, t.dtype, t.frac_bits,
                         t.layout, t.zero_point) for t in plan.tensors]
    ops += [ifp.ConstOp(c.source, seg_names[0], c.offset, c.size, c.transform, c.params,
                        c.fold) for c in plan.consts]
    for layer in plan.layers:
        ins, outs = [names[i] for i in layer.inputs], [names[i] for i in layer.outputs]
        if layer.kind == "host":
            ops.append(ifp.LayerOp(layer.name, "host", ins, outs, host_ir=layer.host_ir))
            continue
        frames = [
            ifp.FrameOp(f.tile, f.cost, f.load_bytes, f.save_bytes,
                        [VCoreOp.from_instruction(i, seg_names.__getitem__) for i in f.instrs])
            for f in layer.frames
        ]
        ops.append(ifp.LayerOp(layer.name, layer.kind, ins, outs, frames))
    return ifp.PackageOp(
        plan.name, core_hash, buffers, [names[i] for i in plan.inputs],
        [names[i] for i in plan.outputs], plan.input_names, plan.output_names, ops,
    )


def compile_frames(module: builtin.ModuleOp) -> Plan:
    """Build the frame plan of a tiled module and replace its contents by the package IR."""
    core = module.attributes.get("tile.core")
    if not isinstance(core, tile.CoreAttr):
        raise PassFailedException(
            "tile-compile-frames: the module is not tiled (no tile.core attribute): run "
            "dnn-tile first"
        )
    hw = module.attributes.get("tile.hw")
    core_hash = ""
    if isinstance(hw, StringAttr):
        try:
            core_hash = load_hw(hw.data).core.config_hash()
        except UserError:
            core_hash = ""
    try:
        plan = build_plan(module)
    except (PlanError, qp.QuantError, tile.Unsupported) as exc:
        raise PassFailedException(f"tile-compile-frames: {exc}") from None
    package = plan_to_ir(plan, core_hash, core.buffers)
    for op in list(module.ops):
        op.detach()
        op.erase(safe_erase=False)
    module.body.block.add_op(package)
    return plan


@dataclass(frozen=True)
class TileCompileFramesPass(ModulePass):
    """Turns every tile of a tiled module into an instruction frame (`ifp.package`)."""

    name = "tile-compile-frames"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        compile_frames(op)
