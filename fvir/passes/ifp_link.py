"""`ifp-link{cores=N}`: link an `ifp.package` to cores 0..N-1 of the target; show it in the IR.

The pass runs the dynamic linker that `fv link` and the simulator run, on the package the IR
spells out, so that FileCheck tests can see how frames are spread over cores and where the
barriers fall:

1. The `Package` is built by the compiler's own path: `fvir.codegen.emit.plan_from_ir` reads the
   `ifp.package` back into a frame plan and `build_package` encodes it (one
   `fvir.isa.encoding.encode` call). The weight blocks are left out (`fv-opt` has no weight
   store, and the linker never reads weights), so the weights segment is zeros.
2. `fvir.runtime.linker.prepare` (phases: one per accelerator layer, one per run of host
   layers) and `link` with the allocation `fv link` makes: cores 0..N-1 and DDR regions from
   `fvir.runtime.memory.make_allocation` (snake balancing).
3. The result is written back as discardable attributes (printed as `attributes {...}`):

   - every `ifp.frame`: `ifp.core` (the physical core that runs it) and `ifp.pos` (its
     position in that core's frame stream, counting from 0 across all phases);
   - every layer of a phase: `ifp.phase`; the last layer of a phase also `ifp.barrier` (the
     id of the SYNC every core executes after the phase) and `ifp.barrier_count` (the cores
     that must arrive);
   - every frame whose weights the linker keeps resident (option `resident`, default true;
     `fvir.runtime.residency`): `ifp.wgt_offset` and `ifp.bias_offset` (how far its weight-
     and bias-buffer addresses moved) and, when an earlier frame on its core already loaded
     the same weights, `ifp.elided` (its weight and bias LOADs are empty);
   - the package: `ifp.cores` (N), `ifp.hw` (the pool's name), `ifp.predicted_cycles` (the
     linker's latency prediction) and `ifp.elided_bytes` (DDR bytes of weight and bias loads
     skipped).

The pool is the context's target (`fvir.passes.context`; `fv-opt --hw`). Errors are pass
failures with one-line messages: `cores` outside 1..the pool's cores, no or several
`ifp.package`s, a package compiled for another core, or anything the linker rejects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import IntegerAttr, StringAttr, UnitAttr, i64
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import PassFailedException

from fvir.codegen.emit import EmitError, build_package, plan_from_ir
from fvir.errors import UserError
from fvir.hw import PoolConfig
from fvir.ir import ifp
from fvir.passes import context
from fvir.runtime.linker import Executable, link, prepare
from fvir.runtime.memory import make_allocation


def _int(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def _record(package: ifp.PackageOp, exe: Executable, hw: str) -> None:
    """Write `exe`'s assignment into the IR (module docstring, step 3)."""
    layers = package.ops_of(ifp.LayerOp)
    frames = [f for layer in layers for f in layer.frames]
    pos = np.empty(len(frames), dtype=np.int64)
    for core in exe.cores.tolist():
        stream = exe.frames_of(core)
        pos[stream] = np.arange(len(stream))
    for frame, core, p in zip(frames, exe.frame_core.tolist(), pos.tolist(), strict=True):
        frame.attributes["ifp.core"] = _int(core)
        frame.attributes["ifp.pos"] = _int(p)
    res = exe.residency
    if res is not None:
        for name, offsets in zip(("ifp.wgt_offset", "ifp.bias_offset"), res.offset,
                                 strict=True):
            for f in np.flatnonzero(offsets).tolist():
                frames[f].attributes[name] = _int(offsets[f])
        for f in np.flatnonzero(res.elided).tolist():
            frames[f].attributes["ifp.elided"] = UnitAttr()
    for phase, layer_ids in enumerate(exe.prepared.phase_layers):
        for li in layer_ids:
            layers[li].attributes["ifp.phase"] = _int(phase)
    for row in exe.barriers:
        layer = layers[int(row["after_layer"])]
        layer.attributes["ifp.barrier"] = _int(row["barrier"])
        layer.attributes["ifp.barrier_count"] = _int(row["count"])
    package.attributes["ifp.cores"] = _int(exe.num_cores)
    package.attributes["ifp.hw"] = StringAttr(hw)
    package.attributes["ifp.predicted_cycles"] = _int(exe.predicted_cycles)
    package.attributes["ifp.elided_bytes"] = _int(exe.elided_bytes)


def link_ir(package: ifp.PackageOp, pool: PoolConfig, cores: int,
            resident: bool = True) -> Executable:
    """Link the `ifp.package` `package` to cores 0..cores-1 of `pool` and record the result."""
    if isinstance(cores, bool) or not 1 <= cores <= pool.num_cores:
        raise PassFailedException(
            f"ifp-link: cores must be in 1..{pool.num_cores} (the cores of pool "
            f"'{pool.name}'), got {cores}"
        )
    if package.core.data and package.core.data != pool.core.config_hash():
        raise PassFailedException(
            f"ifp-link: the package was compiled for another core than those of pool "
            f"'{pool.name}' (core hash mismatch)"
        )
    try:
        plan = dataclasses.replace(plan_from_ir(package), consts=[])
        built = build_package(plan, {}, pool.core, fp32_shadow=False)
        prepared = prepare(built)
        allocation = make_allocation(built, range(cores), pool)
        exe = link(prepared, allocation, pool, resident=resident)
    except (EmitError, UserError) as exc:
        raise PassFailedException(f"ifp-link: {exc}") from None
    _record(package, exe, pool.name)
    return exe


@dataclass(frozen=True)
class IfpLinkPass(ModulePass):
    """Links the module's `ifp.package` to cores 0..cores-1 and records the assignment."""

    name = "ifp-link"

    cores: int = 1
    resident: bool = True

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        packages = [o for o in op.walk() if isinstance(o, ifp.PackageOp)]
        if len(packages) != 1:
            raise PassFailedException(
                f"ifp-link: expected one ifp.package (run tile-compile-frames first), found "
                f"{len(packages)}"
            )
        link_ir(packages[0], context.target(ctx), self.cores, self.resident)
