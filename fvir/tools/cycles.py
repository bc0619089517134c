"""The three cycle counts the tools report, named apart (docs/robustness.md explains them):

- `estimated_cycles` (`fv compile`): the compiler's cost model, the sum of every frame's cost
  on one core, with every weight loaded from DDR and each core's share of its bank's
  bandwidth as if all cores of the bank were busy.
- `linked_cycles` (`fv link`, `fv run`): the linker's prediction for the chosen cores: per
  phase the busiest core's frame costs, minus the weight loads residency skips, floored by
  the busiest DDR bank, plus one barrier per phase.
- `simulated_cycles` (`fv run`): the cycle-level simulation, where a core running alone gets
  its whole port bandwidth and DDR contention is modelled as it happens; the measurement.
"""

from __future__ import annotations

from fvir.ifp.package import Package

EXPLAIN = ("estimated = compiler's cost model on one core, every weight loaded, bank shared by "
           "all its cores; linked = the linker's prediction for these cores, resident weights "
           "skipped; simulated = cycle-level simulation (see docs/robustness.md)")


def estimated_cycles(package: Package) -> int:
    """The compiler's estimate: the sum of the frames' costs (one core)."""
    frames = package.frames
    return int(frames["cost"].sum()) if len(frames) else 0
