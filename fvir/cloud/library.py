"""Compiled models and their costs: what the hypervisor and the policies know about a model.

`ModelLibrary(pool, cache=...)` compiles every model once per pool (the static stage; its
wall time is kept as `compile_s`), through the package cache on disk (`fvir.cache`) when one
is given (a hit keeps the compile time recorded in the package and adds `load_s`), and
answers three questions from the package:

1. `curve(model)`: the throughput-versus-cores curve the private policy optimizes, from the
   cost model (the linker's predicted cycles for 1..N cores: links cost ~50 us each).
2. `service(tenant, cores, co_runners)`: the cycles of one inference of a tenant on its cores
   while `co_runners` (other tenants on the same DDR banks) are busy. This is the *fast
   timing mode*: the first time a (package, cores, busy co-runners) combination is seen, the
   `Machine` simulates it (timing pass only, all of them starting together, event by event
   with shared banks); the cycles are memoised, so a scenario of millions of requests runs
   a few dozen real simulations. `spot_check` re-runs a memoised entry with the numerics on
   (functional + timing) and returns both cycle counts. With a package cache, both kinds of
   simulation results are kept on disk too (they are deterministic), so a later run of the
   same models on the same pool simulates nothing it has simulated before.
3. `link_s(model, cores)`: the measured wall time of a real dynamic link, first and repeated.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fvir.backend.faults import SimError
from fvir.backend.host import HostInterpreter
from fvir.backend.machine import Machine
from fvir.cache import PackageCache, compile_cached
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package
from fvir.runtime.linker import PreparedPackage, link, prepare
from fvir.runtime.memory import make_allocation

Progress = Callable[[str], None]
CoRunners = tuple[tuple[str, tuple[int, ...]], ...]  # (model, cores) of busy co-runners


@dataclass
class Service:
    """One memoised inference: its cycles, or the fault that stopped it."""

    cycles: int
    fault: SimError | None = None


@dataclass
class Compiled:
    name: str
    package: Package
    prepared: PreparedPackage
    compile_s: float
    cached: bool = False  # read from the package cache, not compiled now
    curve: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [n] cycles on n+1 cores


class ModelLibrary:
    """Packages, cost-model curves and memoised service times for one pool."""

    def __init__(self, pool: PoolConfig, progress: Progress | None = None, *,
                 resident: bool = True, cache: PackageCache | None = None,
                 host: HostInterpreter | None = None) -> None:
        self.pool = pool
        self.host = host  # runs host layers in spot checks (fvir.backend.host)
        self.progress = progress
        self.cache = cache  # compiled packages on disk (None: compile every time)
        self.resident = resident  # every link keeps reused weights on chip (the linker's)
        self._models: dict[str, Compiled] = {}
        self._memo: dict[tuple[str, tuple[int, ...], CoRunners], Service] = {}
        self._links: dict[tuple[str, int], tuple[float, float]] = {}
        self.simulations = 0  # real Machine runs (memo misses)

    # ------------------------------------------------------------------ models

    def add(self, name: str, model: Any) -> Compiled:
        """Compile `model` (zoo name, ONNX/.ifp path, ModelProto or Package) under `name`,
        once."""
        if name in self._models:
            return self._models[name]
        t0 = time.perf_counter()
        package, cached = self._package(model)
        compile_s = float(package.meta.get("compile_s", time.perf_counter() - t0))
        entry = Compiled(name, package, prepare(package), compile_s, cached)
        entry.curve = self._curve(entry)
        self._models[name] = entry
        return entry

    def _package(self, model: Any) -> tuple[Package, bool]:
        if isinstance(model, Package):
            return model, False
        if isinstance(model, str) and Path(model).suffix == ".ifp":
            from fvir.ifp.fileformat import read_package

            return read_package(model, core=self.pool.core), False
        from fvir.frontend.models import load_onnx_or_zoo

        def load() -> tuple[Any, str]:
            return load_onnx_or_zoo(model) if isinstance(model, str) else (model, "model")

        return compile_cached(model, self.pool, self.cache, load, fp32_shadow=False,
                              progress=self.progress)

    def __getitem__(self, name: str) -> Compiled:
        return self._models[name]

    def _curve(self, entry: Compiled) -> np.ndarray:
        cycles = []
        for n in range(1, self.pool.num_cores + 1):
            alloc = make_allocation(entry.package, range(n), self.pool)
            cycles.append(link(entry.prepared, alloc, self.pool,
                               resident=self.resident).predicted_cycles)
        return np.asarray(cycles, np.float64)

    def throughput(self, name: str, n: int) -> float:
        """Inferences per second on n cores, by the cost model (0 for n = 0)."""
        if n <= 0:
            return 0.0
        entry = self._models[name]
        cycles = entry.curve[min(n, len(entry.curve)) - 1]
        return self.pool.core.clock_mhz * 1e6 / max(cycles, 1.0)

    # ------------------------------------------------------------------ linking

    def link_s(self, name: str, cores: Sequence[int]) -> tuple[float, float]:
        """(first link, re-link): median wall seconds of linking `name` to `cores` when the
        prepared package has not seen that core count yet (its frame layout computed) and when
        it has; 5 real links each, memoised per core count. The hypervisor's own re-links are
        timed as they happen; these are the figures to report."""
        key = (name, len(cores))
        if key not in self._links:
            prepared = self._models[name].prepared
            alloc = make_allocation(prepared.package, cores, self.pool)
            cold, warm = [], []
            for _ in range(5):
                prepared.layouts.clear()
                for times in (cold, warm):
                    t0 = time.perf_counter()
                    link(prepared, alloc, self.pool, resident=self.resident)
                    times.append(time.perf_counter() - t0)
            self._links[key] = (float(np.median(cold)), float(np.median(warm)))
        return self._links[key]

    # ------------------------------------------------------------------ service times

    def service(self, name: str, cores: tuple[int, ...], co_runners: CoRunners = ()) -> Service:
        """Cycles of one inference of model `name` on `cores` with `co_runners` busy."""
        key = (name, cores, co_runners)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._kept(name, cores, co_runners, functional=False)
        return hit

    def memo_keys(self) -> list[tuple[str, tuple[int, ...], CoRunners]]:
        """The (model, cores, co-runners) combinations simulated so far, in order."""
        return list(self._memo)

    def spot_check(self, name: str, cores: tuple[int, ...],
                   co_runners: CoRunners = ()) -> tuple[int, int]:
        """(memoised fast-mode cycles, cycles of a full functional + timing simulation)."""
        fast = self.service(name, cores, co_runners).cycles
        return fast, self._kept(name, cores, co_runners, functional=True).cycles

    def _kept(self, name: str, cores: tuple[int, ...], co_runners: CoRunners,
              functional: bool) -> Service:
        """`_simulate`, through the cache's stored results when there is a cache and every
        package involved came from it: a simulation is deterministic, so its cycles are kept
        under a key naming the packages, the cores, the pool, the residency and the mode (a
        faulting run is not kept)."""
        keys = [self._models[m].package.meta.get("cache_key")
                for m in (name, *(m for m, _ in co_runners))]
        key = None
        if self.cache is not None and all(keys):
            doc = {"packages": keys, "cores": [cores, *(c for _, c in co_runners)],
                   "pool": self.pool.config_hash(), "resident": self.resident,
                   "functional": functional}
            key = "sim-" + hashlib.sha256(json.dumps(doc).encode()).hexdigest()
            if (cycles := self.cache.result(key)) is not None:
                return Service(int(cycles))
        out = self._simulate(name, cores, co_runners, functional)
        if key is not None and self.cache is not None and out.fault is None:
            self.cache.store_result(key, out.cycles)
        return out

    def _simulate(self, name: str, cores: tuple[int, ...], co_runners: CoRunners,
                  functional: bool) -> Service:
        self.simulations += 1
        machine = Machine(self.pool, host=self.host)
        rng = np.random.default_rng(0)
        for i, (model, their_cores) in enumerate(((name, cores), *co_runners)):
            package = self._models[model].package
            exe = machine.deploy(f"t{i}", package, their_cores, resident=self.resident)
            inputs = None
            if functional:
                inputs = [rng.standard_normal(package.tensors[t].shape).astype(np.float32)
                          for t in package.inputs]
            machine.load(f"t{i}", exe, inputs)
        report = machine.run(functional=functional)
        mine = report.tenants["t0"]
        return Service(int(mine.cycles), mine.fault)
