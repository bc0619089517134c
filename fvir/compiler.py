"""The static compiler in one call: an ONNX model to a relocatable instruction frame package.

    package = compile_model(onnx_model, load_hw("paper-u200"))

Stages (each reported through `progress(stage)`), all in process on one xDSL module, never
printing or parsing IR on the way:

1. `import`: ONNX -> dnn IR + WeightStore (`fvir.frontend.onnx`).
2. `fold-batchnorm`, `fuse-activation`, `canonicalize`: the dnn-level cleanups; then
   `unroll-rnn` (reported only for models with recurrent layers): LSTM / GRU / RNN layers
   unrolled over their time steps, one chain per direction and batch row, into dense / add /
   mul / sigmoid / tanh (`fvir.passes.dnn_unroll_rnn`); layers outside its subset (e.g. a
   sequence_lens with an empty row) stay fused, on the host.
3. `quantize`: int8 fixed point from calibration (`fvir.passes.dnn_quantize`).
4. `partition`: accelerator or host, per op (`fvir.passes.dnn_partition`).
5. `tile`: every accelerator layer cut into tiles for one core (`fvir.passes.dnn_tile`).
6. `frames`: DDR tensors, the weights segment and every frame's instructions
   (`fvir.codegen.frame_plan`, the generator `tile-compile-frames` also uses).
7. `emit`: the `Package` (`fvir.codegen.emit.build_package`).

Fast path. Stage 6 does not build `vcore` ops: `tile-compile-frames` turns the same plan into
`ifp`/`vcore` IR for `fv-opt` and FileCheck, and `fvir.codegen.emit.emit_package` encodes that IR
through the same `build_package`, so both give identical packages (tests/compiler checks it).
Measured on the quantized zoo ResNet-50 for paper-u200 (2600 frames, 57.6k instructions; CPU
seconds): tile 0.21, plan 0.28, build_package 0.38; building the IR from the plan would add
0.75 (13 us per instruction, with cached attributes) and reading it back 0.23, i.e. double the
backend's time, for nothing the package needs. The cyclic garbage collector is off during
stages 5-7 (`_no_gc`), which saves up to half of them.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from xdsl.context import Context

from fvir.codegen.emit import build_package
from fvir.errors import UserError, first_line
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package

Progress = Callable[[str], None]
Calibration = Sequence[dict[str, np.ndarray]] | Sequence[str | Path] | None


@contextmanager
def compile_errors(model: str, hw: PoolConfig) -> Iterator[None]:
    """A pass that cannot handle this model on this hardware (a layer no tile of which fits
    the core's buffers, say) is the user's choice of model and hardware, not a bug: one line."""
    from xdsl.utils.exceptions import PassFailedException

    try:
        yield
    except PassFailedException as exc:
        raise UserError(f"cannot compile {model} for {hw.name}: {first_line(exc)}") from None


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a stage: the compiler allocates hundreds of
    thousands of small acyclic objects (instructions, attributes), and the collections their
    allocation triggers cost up to half of the backend stages (measured on ResNet-50)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stage(progress: Progress | None, name: str) -> None:
    if progress is not None:
        progress(name)


def quantize_model(
    model: onnx.ModelProto | ImportedModel,
    *,
    calibration: Calibration = None,
    seed: int = 0,
    progress: Progress | None = None,
    channel_group: int = 1,
) -> ImportedModel:
    """Stages 1-4: the quantized, partitioned dnn module and its weights (`.q` arrays added).

    `calibration`: input samples keyed by ONNX input name, or `.npy`/`.npz` files
    (`fvir.calibration.load_calibration`); default: seeded random inputs.
    `channel_group`: output channels that share a weight exponent (the target core's OCP)."""
    from fvir.calibration import load_calibration
    from fvir.ir import dnn
    from fvir.passes.dnn_canonicalize import DnnCanonicalizePass
    from fvir.passes.dnn_fold_batchnorm import fold_batchnorm
    from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
    from fvir.passes.dnn_partition import partition
    from fvir.passes.dnn_quantize import quantize
    from fvir.passes.dnn_unroll_rnn import unroll

    if isinstance(model, onnx.ModelProto):
        _stage(progress, "import")
        model = import_model(model)
    module, weights = model.module, model.weights
    ctx = Context()
    _stage(progress, "fold-batchnorm")
    fold_batchnorm(module, weights)
    _stage(progress, "fuse-activation")
    DnnFuseActivationPass().apply(ctx, module)
    _stage(progress, "canonicalize")
    DnnCanonicalizePass().apply(ctx, module)
    if any(isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp) for op in module.walk()):
        _stage(progress, "unroll-rnn")
        unroll(module, weights, max_batch=1)  # the MVM lowering takes one row per chain
    _stage(progress, "quantize")
    samples: Any = calibration
    if calibration is not None and len(calibration) and isinstance(calibration[0], str | Path):
        samples = load_calibration(list(calibration), module)  # type: ignore[arg-type]
    quantize(module, weights, samples, seed=seed, channel_group=channel_group)
    _stage(progress, "partition")
    partition(module)
    return model


def package_model(model: ImportedModel, hw: PoolConfig, *, min_tiles: int | None = None,
                  progress: Progress | None = None, fp32_shadow: bool = True) -> Package:
    """Stages 5-7 on a quantized, partitioned model (its module is tiled in place)."""
    from fvir.codegen.frame_plan import build_plan
    from fvir.passes.dnn_tile import tile_module

    with _no_gc():
        _stage(progress, "tile")
        tile_module(model.module, hw, min_tiles)
        _stage(progress, "frames")
        plan = build_plan(model.module, model.weights)
        _stage(progress, "emit")
        return build_package(
            plan, model.weights, hw.core, meta={"hw": hw.name}, fp32_shadow=fp32_shadow
        )


def compile_model(
    model: onnx.ModelProto | ImportedModel,
    hw: PoolConfig,
    *,
    calibration: Calibration = None,
    seed: int = 0,
    progress: Progress | None = None,
    min_tiles: int | None = None,
    fp32_shadow: bool = True,
) -> Package:
    """Compile `model` for the cores of `hw` (the stages above). `min_tiles` defaults to the
    pool size, so that any core count up to it balances. `fp32_shadow` keeps the float32
    copy of the weights that the simulator's fp32 mode needs (4x the int8 weights)."""
    imported = quantize_model(
        model, calibration=calibration, seed=seed, progress=progress, channel_group=hw.core.ocp
    )
    return package_model(
        imported, hw, min_tiles=min_tiles, progress=progress, fp32_shadow=fp32_shadow
    )
