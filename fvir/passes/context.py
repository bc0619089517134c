"""`FvirContext`: xDSL's `Context` plus what fvir's passes compile for and with.

An accelerator compiler's passes need more than the IR: the target hardware (tiling, quantizer
channel groups), the weight store the IR names tensors in (folding, quantization), and the
calibration inputs. As snax-mlir's `AccContext` does, the context carries them, so that every
pass reads them from one place and `compile_model`, the accuracy report and `fv-opt` run the
same pass objects:

1. A caller (the compiler, `fv-opt --hw/--weights`, `fvir-compile{hw=...}`) fills the context.
2. Each pass asks `target(ctx)` / `weights(ctx)` / `calibration(ctx)`; a plain xDSL `Context`
   (plain `xdsl-opt`) gets the default hardware and no store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xdsl.context import Context

if TYPE_CHECKING:  # kept out of fv-opt's start-up
    import numpy as np

    from fvir.hw import PoolConfig
    from fvir.ir.weights import WeightStore

Calibration = Sequence["dict[str, np.ndarray]"] | Sequence[str | Path]


@dataclass
class FvirContext(Context):
    """The IR context of fvir's compiler: dialects, plus the target, weights and calibration."""

    target: PoolConfig | None = None
    weights: WeightStore | None = None
    calibration: Calibration | None = field(default=None)

    def clone(self) -> FvirContext:
        base = super().clone()
        return FvirContext(
            base.allow_unregistered,
            base._loaded_dialects,
            base._loaded_ops,
            base._loaded_attrs,
            base._loaded_types,
            base._registered_dialects,
            target=self.target,
            weights=self.weights,
            calibration=self.calibration,
        )


def target(ctx: Context) -> PoolConfig:
    """The hardware to compile for: the context's, else the default preset."""
    if isinstance(ctx, FvirContext) and ctx.target is not None:
        return ctx.target
    from fvir.hw import DEFAULT_HW, load_hw

    return load_hw(DEFAULT_HW)


def weights(ctx: Context) -> WeightStore | None:
    """The weight store the module's `dnn.weight` ops name, if the context has one."""
    return ctx.weights if isinstance(ctx, FvirContext) else None


def calibration(ctx: Context) -> Calibration | None:
    """Calibration inputs keyed by ONNX input name (or `.npy`/`.npz` files of them), if the
    caller gave any."""
    return ctx.calibration if isinstance(ctx, FvirContext) else None
