"""What a simulated run reports: per tenant, per core and per bank.

1. `CoreReport`: one core's busy cycles per engine, frames, instructions and MACs.
2. `TenantReport`: one tenant's cycles (its last END or its fault), latency at the core clock,
   outputs, fault, host wall time, MAC utilization and cycles per phase.
3. `RunReport`: every tenant, core and bank of a run, the schedule, and a JSON-ready summary.
4. `BatchReport`: many input sets through one executable: one timing, outputs per set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fvir.backend.faults import SimError
from fvir.backend.timing import Schedule
from fvir.hw.config import PoolConfig
from fvir.runtime.linker import Executable


@dataclass
class CoreReport:
    """One core's share of a run: busy cycles per engine (LOAD, CONV, MISC, SAVE), frames and
    instructions it ran, useful MACs."""

    core: int
    tenant: str
    busy: dict[str, float]
    frames: int
    instructions: int
    macs: int

    def utilization(self, cycles: float) -> dict[str, float]:
        """Busy fraction of every engine over `cycles`."""
        return {e: (b / cycles if cycles else 0.0) for e, b in self.busy.items()}


@dataclass
class TenantReport:
    """One tenant's run. `cycles` is when its last core finished (or when it faulted);
    `latency_ms` is that at the core clock; `host_ms` the wall time of its host segments in
    numpy (not in `cycles`); `layer_cycles` the cycles of every phase (barrier to barrier),
    keyed by the names of its layers."""

    name: str
    package: str
    cores: list[int]
    cycles: int
    latency_ms: float
    outputs: list[np.ndarray] | None
    fault: SimError | None
    host_ms: float
    host_layers: dict[str, float]  # host layer -> wall ms in numpy (0 if not run)
    macs: int
    mac_utilization: float
    layer_cycles: dict[str, float]
    layer_macs: dict[str, int]
    executable: Executable = field(repr=False)
    functional_s: float = 0.0


@dataclass
class RunReport:
    """A whole run: every tenant, every core, every bank; `cycles` is the makespan."""

    pool: PoolConfig
    mode: str
    cycles: int
    tenants: dict[str, TenantReport]
    cores: dict[int, CoreReport]
    bank_busy: list[float]
    bank_bytes: list[float]
    schedule: Schedule = field(repr=False)
    wall_s: dict[str, float] = field(default_factory=dict)

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.pool.core.clock_mhz * 1e3)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (no output arrays)."""
        return {
            "hw": self.pool.name,
            "mode": self.mode,
            "cycles": self.cycles,
            "latency_ms": self.latency_ms,
            "clock_mhz": self.pool.core.clock_mhz,
            "tenants": {
                name: {
                    "package": t.package,
                    "cores": t.cores,
                    "cycles": t.cycles,
                    "latency_ms": t.latency_ms,
                    "mac_utilization": t.mac_utilization,
                    "macs": t.macs,
                    "host_ms": t.host_ms,
                    "host_layers": t.host_layers,
                    "fault": None if t.fault is None else str(t.fault),
                }
                for name, t in self.tenants.items()
            },
            "cores": {
                str(c.core): {
                    "tenant": c.tenant,
                    "frames": c.frames,
                    "instructions": c.instructions,
                    "busy_cycles": c.busy,
                    "utilization": c.utilization(self.cycles),
                }
                for c in self.cores.values()
            },
            "banks": [
                {"busy_cycles": b, "utilization": b / self.cycles if self.cycles else 0.0,
                 "bytes": round(n)}
                for b, n in zip(self.bank_busy, self.bank_bytes, strict=True)
            ],
            "wall_s": self.wall_s,
        }


@dataclass
class BatchReport:
    """Many input sets through one executable (`Machine.run_batch`): `report` is the timing
    (the same cycles for every set, no outputs), `outputs[i]` the outputs of set i (None if it
    faulted, `faults[i]` then says why), `wall_s` where the time went."""

    report: RunReport
    outputs: list[list[np.ndarray] | None]
    faults: list[SimError | None]
    wall_s: dict[str, float] = field(default_factory=dict)
