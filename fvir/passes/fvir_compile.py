"""`fvir-compile`: the static compiler's pipeline, named once.

`compile_model`, the accuracy report, `fv passes --pipeline` and `fv-opt -p fvir-compile` run
these passes:

1. dnn-level clean-ups: fold batchnorms, fuse activations, canonicalize.
2. `dnn-unroll-rnn{max-batch=1}`: recurrent layers become chains of MVMs (one batch row each,
   what the MVM lowering takes).
3. `dnn-quantize`: int8 fixed point from calibration (the context's inputs, or seeded ones).
4. `dnn-partition`: accelerator or host, per op.
5. `dnn-tile`: every accelerator layer cut into tiles for one core of the target.
6. `tile-compile-frames`: every tile an instruction frame (`ifp.package`).

`QUANTIZED` is the prefix through step 4, the module the int8 reference runs; `compile_model`
runs the passes through step 5 and generates the frames without building their IR (the same
plan `tile-compile-frames` prints; see `fvir.compiler`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.passes import ModulePass, PassPipeline

from fvir.hw import load_hw
from fvir.passes.context import FvirContext
from fvir.passes.dnn_canonicalize import DnnCanonicalizePass
from fvir.passes.dnn_fold_batchnorm import DnnFoldBatchnormPass
from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
from fvir.passes.dnn_partition import DnnPartitionPass
from fvir.passes.dnn_quantize import DnnQuantizePass
from fvir.passes.dnn_tile import DnnTilePass
from fvir.passes.dnn_unroll_rnn import DnnUnrollRnnPass
from fvir.passes.tile_compile_frames import TileCompileFramesPass

QUANTIZED = 6
"""How many of `compile_passes()` produce the quantized, partitioned module."""

TILED = 7
"""How many of `compile_passes()` produce the tiled module (codegen's input)."""


def compile_passes(*, seed: int = 0, samples: int = 4,
                   min_tiles: int | None = None) -> tuple[ModulePass, ...]:
    """The pipeline's pass objects, in order (see the module docstring)."""
    return (
        DnnFoldBatchnormPass(),
        DnnFuseActivationPass(),
        DnnCanonicalizePass(),
        DnnUnrollRnnPass(max_batch=1),
        DnnQuantizePass(seed=seed, samples=samples),
        DnnPartitionPass(),
        DnnTilePass(min_tiles=min_tiles),
        TileCompileFramesPass(),
    )


def pipeline_spec() -> str:
    """The pipeline as an `fv-opt -p` string."""
    return ",".join(str(p.spec()) for p in compile_passes())


def run_passes(passes: tuple[ModulePass, ...], ctx: Context, module: builtin.ModuleOp,
               progress: Callable[[str], None] | None = None) -> None:
    """Apply `passes` in order, telling `progress` each pass's name before it runs."""

    def callback(_prev: ModulePass | None, _op: builtin.ModuleOp,
                 following: ModulePass | None) -> None:
        if following is not None and progress is not None:
            progress(following.name)

    PassPipeline(passes, callback).apply(ctx, module)


@dataclass(frozen=True)
class FvirCompilePass(ModulePass):
    """The whole static pipeline, `fv passes --pipeline`, for hardware `hw`.

    `hw` defaults to the context's target; the weight store and calibration come from the
    context."""

    name = "fvir-compile"

    hw: str | None = None
    seed: int = 0
    samples: int = 4
    min_tiles: int | None = None

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        local = ctx.clone() if isinstance(ctx, FvirContext) else FvirContext()
        if self.hw is not None:
            local.target = load_hw(self.hw)
        run_passes(compile_passes(seed=self.seed, samples=self.samples,
                                  min_tiles=self.min_tiles), local, op)
