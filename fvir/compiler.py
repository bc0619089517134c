"""The static compiler in one call: an ONNX model to a relocatable instruction frame package.

    package = compile_model(onnx_model, load_hw(DEFAULT_HW))

1. `import`: ONNX -> dnn IR + WeightStore (`fvir.frontend.onnx`).
2. The pipeline's passes through `dnn-tile` (`fvir.passes.fvir_compile`), in one
   `FvirContext` holding the target, the weight store and the calibration inputs; each pass
   is reported through `progress(name)`.
3. `frames`: DDR tensors, the weights segment and every frame's instructions
   (`fvir.codegen.frame_plan`), then `emit`: the `Package` (`fvir.codegen.emit`).

Step 3 is the pipeline's last pass, `tile-compile-frames`, without building `vcore` ops: that
pass turns the same plan into `ifp`/`vcore` IR for `fv-opt` and FileCheck, and
`fvir.codegen.emit.emit_package` encodes that IR through the same `build_package`, so both give
identical packages (tests/compiler checks it) while the IR would double the backend's time for
nothing the package needs. The cyclic garbage collector is off during tiling and code
generation (`_no_gc`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func

from fvir.codegen.emit import build_package
from fvir.codegen.frame_plan import build_plan
from fvir.errors import UserError, first_line
from fvir.frontend.onnx import ImportedModel, import_model
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package
from fvir.ir.dnn import DNN
from fvir.ir.macs import mac_split
from fvir.passes.context import FvirContext
from fvir.passes.fvir_compile import QUANTIZED, TILED, compile_passes, run_passes

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


def pipeline_context(model: ImportedModel, hw: PoolConfig, calibration: Calibration) -> FvirContext:
    """The context the pipeline's passes run `model` in: target `hw`, the model's weights."""
    ctx = FvirContext(target=hw, weights=model.weights,
                      calibration=list(calibration) if calibration is not None else None)
    for dialect in (Builtin, Func, Arith, DNN):
        ctx.load_dialect(dialect)
    return ctx


def quantize_model(
    model: onnx.ModelProto | ImportedModel,
    hw: PoolConfig,
    *,
    calibration: Calibration = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> ImportedModel:
    """The pipeline through `dnn-partition`: the quantized, partitioned dnn module for `hw`
    and its weights (`.q` arrays added), what the int8 reference executor runs.

    `calibration`: input samples keyed by ONNX input name, or `.npy`/`.npz` files
    (`fvir.calibration.load_calibration`); default: seeded random inputs."""
    if isinstance(model, onnx.ModelProto):
        _stage(progress, "import")
        model = import_model(model)
    passes = compile_passes(seed=seed)[:QUANTIZED]
    run_passes(passes, pipeline_context(model, hw, calibration), model.module, progress)
    return model


def package_model(model: ImportedModel, hw: PoolConfig, *, min_tiles: int | None = None,
                  progress: Progress | None = None, fp32_shadow: bool = True) -> Package:
    """Tiling and code generation on a quantized, partitioned model (tiled in place)."""
    macs = mac_split(model.module)  # before tiling wraps the accelerator's ops
    with _no_gc():
        tile = compile_passes(min_tiles=min_tiles)[QUANTIZED:TILED]
        run_passes(tile, pipeline_context(model, hw, None), model.module, progress)
        _stage(progress, "frames")
        plan = build_plan(model.module)
        _stage(progress, "emit")
        return build_package(
            plan, model.weights, hw.core, meta={"hw": hw.name, "macs": macs},  # type: ignore[dict-item]
            fp32_shadow=fp32_shadow,
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
    """Compile `model` for the cores of `hw` (the steps above). `min_tiles` defaults to the
    pool size, so that any core count up to it balances. `fp32_shadow` keeps the float32
    copy of the weights that the simulator's fp32 mode needs (4x the int8 weights)."""
    imported = quantize_model(model, hw, calibration=calibration, seed=seed, progress=progress)
    return package_model(
        imported, hw, min_tiles=min_tiles, progress=progress, fp32_shadow=fp32_shadow
    )
