"""Hardware description of the virtualized accelerator: one core (`CoreConfig`), the pool of
cores and DDR banks around it (`PoolConfig`), the presets (`paper-u200`, `big-core`, `tiny`) and
TOML files (`load_hw`, the `--hw` option)."""

from fvir.hw.config import CoreConfig, HwConfigError, PoolConfig
from fvir.hw.presets import BIG_CORE, DEFAULT_HW, PAPER_U200, PRESETS, TINY
from fvir.hw.toml import load_hw, load_toml, to_toml

__all__ = [
    "BIG_CORE",
    "DEFAULT_HW",
    "PAPER_U200",
    "PRESETS",
    "TINY",
    "CoreConfig",
    "HwConfigError",
    "PoolConfig",
    "load_hw",
    "load_toml",
    "to_toml",
]
