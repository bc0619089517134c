"""Steps: how drivers execute an instruction.

A driver executes an instruction through its *step*, a function of (state, memory) built once
from the instruction's fields (`fvir.backend.semantics.step_of` caches it by their values).

1. Everything that depends only on the fields (extents, byte strides, injectivity, the order
   of the checks) is worked out when the step is built, not when it runs.
2. A step reads and writes nothing but the state and memory it is given, and raises exactly
   what the pseudo-code's checks raise, in the same order, before changing anything.
3. CONV and ELEW run under the configuration their INIT latched: `configured_step` keeps one
   plan per latched configuration (a handful per instruction at most).
4. The compiled functions take int64 parameter vectors; `compiled_params` builds one by the
   entries' names, which the extension itself lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fvir.backend._engine import param_names
from fvir.backend.faults import ProgramError
from fvir.backend.memory import Memory
from fvir.backend.state import CoreState

Fields = Mapping[str, int]
"""An instruction's fields by name (`Instruction.fields`: plain ints, the fastest to read)."""

Step = Callable[[CoreState, Memory], None]


_PARAM_NAMES = {kind: param_names(kind) for kind in ("conv", "dma", "elew")}


def compiled_params(kind: str, **values: int) -> np.ndarray:
    """The int64 parameter vector of a compiled function (`_engine.param_names(kind)`: "conv",
    "dma" or "elew"), every entry given by name."""
    names = _PARAM_NAMES[kind]
    if values.keys() != set(names):
        raise ValueError(f"{kind} parameters: missing {sorted(set(names) - values.keys())}, "
                         f"unknown {sorted(values.keys() - set(names))}")
    return np.array([values[name] for name in names], np.int64)


def nothing(state: CoreState, mem: Memory) -> None:
    return None



def check_positive(op: str, f: Fields, names: tuple[str, ...]) -> None:
    for name in names:
        if f[name] < 1:
            raise ProgramError(f"{name} = {f[name]}: must be at least 1", op)



def plan_for(plans: dict[tuple, Any], cfg: Fields, build: Callable[[dict[str, int]], Any]) -> Any:
    """The plan of an instruction under the latched configuration `cfg` (a CONV or ELEW is
    prepared per configuration; a handful of them per instruction at most)."""
    key = tuple(cfg.items())
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= 16:
            plans.clear()
        plan = plans[key] = build(dict(cfg))
    return plan


def configured_step(op: str, latched: Callable[[CoreState], Fields | None], empty: bool,
                     build: Callable[[Fields], Any], problem: str | None = None) -> Step:
    """The step of a CONV or ELEW: it runs under the configuration its INIT latched (`latched`
    reads it from the core), through the plan `build` makes per configuration; `problem`: an
    error in the instruction itself, raised once a configuration is there."""
    plans: dict[tuple, Any] = {}

    def step(state: CoreState, mem: Memory) -> None:
        cfg = latched(state)
        if cfg is None:
            raise ProgramError(f"no {op}INIT before it (a frame must issue its own)", op)
        if problem is not None:
            raise ProgramError(problem, op)
        if empty:
            return
        plan_for(plans, cfg, build).run(state)

    return step
