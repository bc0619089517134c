"""The hypervisor's resource side: one `Machine` whose level-1 dispatcher it programs.

`bind(tenant, model, cores)` gives a tenant its cores and fresh DDR regions (in the banks of
those cores) and dynamically links the tenant's package to them: the real linker, on the
real allocator, timed, so the re-allocation cost the timeline is charged is measured, not
assumed. `unbind(tenant)` returns the cores and every region. `check()` asserts the
invariants the tests rely on: no core held twice, no DDR region shared.
"""

from __future__ import annotations

import time
from itertools import pairwise

from fvir.backend.machine import Machine
from fvir.cloud.library import ModelLibrary
from fvir.runtime.linker import Executable


class Hypervisor:
    def __init__(self, library: ModelLibrary) -> None:
        self.library = library
        self.pool = library.pool
        self.machine = Machine(self.pool)
        self.executables: dict[str, Executable] = {}

    def bind(self, tenant: str, model: str, cores: tuple[int, ...]) -> float:
        """Link `model` for `tenant` onto `cores` (after `unbind`); returns the wall seconds
        of allocation + link, the cost of this re-allocation."""
        t0 = time.perf_counter()
        exe = self.machine.deploy(tenant, self.library[model].package, cores,
                                  resident=self.library.resident)
        self.machine.load(tenant, exe)
        self.executables[tenant] = exe
        return time.perf_counter() - t0

    def unbind(self, tenant: str) -> None:
        if tenant in self.executables:
            self.machine.release(tenant)
            del self.executables[tenant]

    def cores(self) -> dict[str, tuple[int, ...]]:
        return {t: tuple(int(c) for c in exe.cores) for t, exe in self.executables.items()}

    def check(self) -> None:
        """No core in two tenants, no core outside the pool, no two regions overlapping."""
        seen: set[int] = set()
        for tenant, cores in self.cores().items():
            assert all(0 <= c < self.pool.num_cores for c in cores), (tenant, cores)
            assert seen.isdisjoint(cores), f"core of '{tenant}' held twice"
            seen |= set(cores)
        regions = sorted((r.start, r.end, t) for t, exe in self.executables.items()
                         for r in exe.allocation.regions.values() if r.size)
        for (_, end, a), (start, _, b) in pairwise(regions):
            assert end <= start, f"DDR regions of '{a}' and '{b}' overlap"
