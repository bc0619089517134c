"""The simulated FPGA: a pool of cores behind a two-level dispatcher, sharing DDR banks, running
the linked packages of one or several tenants.

    machine = Machine(PAPER_U200)                    # int8 (the hardware) or mode="fp32"
    exe = machine.deploy("alice", package, cores=[0, 1, 2, 3])   # level-1 map, DDR, link
    machine.load("alice", exe, inputs)
    report = machine.run(trace="run.json")           # every loaded tenant, concurrently
    report.tenants["alice"].outputs, report.cycles, report.tenants["alice"].latency_ms

A run has two passes over the same linked streams, so that the numerics can be skipped without
changing a single cycle (`run(functional=False)`, the fast timing mode):

1. Functional (`fvir.backend.engine.run_frames`: int8 frames in the compiled frame loop,
   fp32 frames and frames with a broken token protocol through
   `fvir.backend.functional.run_resolved`, one definition of every instruction either way):
   tenant by tenant, phase by
   phase, each core's frames in program order; host phases run their layers in numpy between
   the accelerator phases (wall time measured and reported apart from cycles). Program order
   gives *the* result (see `functional`'s docstring), and frames of one phase write disjoint
   bytes, so the order of the cores within a phase does not matter: any core count gives the
   same outputs. The first fault (a `SimError`) stops the tenant; other tenants do not
   notice, since their memories are disjoint.
2. Timing (`fvir.backend.timing.simulate`): all tenants' cores together, event by event, with
   the engines, queues, tokens, barriers and DDR banks of the cycle model. A faulted tenant
   stops when its faulting instruction would start: its cores halt and its transfers leave
   the banks, so co-running tenants on its banks speed up from then on.

Level-1 dispatcher (this class): `assign(tenant, cores)` programs the tenant -> cores map at
run time (tenants own disjoint cores); an executable may only run on its tenant's cores; every
DDR access is bounds-checked against the tenant's regions (its base registers and segment
sizes): in the functional pass by `Memory.access`, in a timing-only run by the same rule over
the decoded LOAD/SAVE fields, so a stray access is a `MemoryFault` naming tenant, layer,
frame and instruction either way. Barriers (SYNC) and frame fetch are in the timing model.

DDR: one numpy array per bank, covering the allocated part of the bank (grown on demand); a
tenant's base register is bound to a view of its region, so tenants' regions are disjoint
views of the same physical bank, and the weights segment is read-only. Each core keeps its
`CoreState` (buffers, latched *INITs) across frames and runs, as the hardware does; a core
that changes hands starts from a fresh state and a tenant's regions are zeroed when first
bound, so no tenant ever sees what another left in a buffer or in DDR.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fvir.backend.engine import Program
from fvir.backend.execute import Context, Outcome, execute
from fvir.backend.execute import pool as execution_pool
from fvir.backend.faults import MemoryFault, SimError
from fvir.backend.functional import resolve, weights_blob
from fvir.backend.host import HostInterpreter
from fvir.backend.items import ENGINE_NAMES, FRAME_ITEM, InstrTable, instr_table
from fvir.backend.memory import Memory, Mode, check_mode, storage_dtype
from fvir.backend.program import CoreProgram, core_program
from fvir.backend.report import BatchReport, CoreReport, RunReport, TenantReport
from fvir.backend.semantics import CoreState
from fvir.backend.tensors import write_tensor
from fvir.backend.timing import QUEUE_DEPTH, Schedule, simulate
from fvir.backend.trace import write_trace
from fvir.errors import UserError
from fvir.hw import cost
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package, SegmentKind
from fvir.isa.encoding import decode
from fvir.isa.instr import Instruction
from fvir.isa.spec import Opcode
from fvir.runtime.linker import SYNC_CYCLES, Balance, Executable, Phases, link, prepare
from fvir.runtime.memory import (
    Allocation,
    DdrAllocator,
    allocate_segments,
    bank_range,
    check_cores,
)

# ---------------------------------------------------------------------------------------------
# Per-package caches (a package is immutable once compiled; the caches die with it)


def _cache(obj: Any, key: Any, build: Any) -> Any:
    store: dict = obj.__dict__.setdefault("_fvir_machine", {})
    if key not in store:
        store[key] = build()
    return store[key]


def _decoded(exe: Executable) -> list[Instruction]:
    """Every instruction of the executable's words, decoded once per owner of the words
    (`Executable.words_owner`)."""
    return _cache(exe.words_owner, "decoded", lambda: decode(exe.words))


def _program(exe: Executable) -> Program:
    """The executable's instructions for the functional pass (`engine.Program`), built once
    per owner of the words."""
    def build() -> Program:
        frames = exe.package.frames
        starts = frames["instr_start"].astype(np.int64).tolist()
        ends = (frames["instr_start"] + frames["instr_count"]).astype(np.int64).tolist()
        return Program.build(exe.words, resolve(_decoded(exe)), list(zip(starts, ends,
                                                                         strict=True)))
    return _cache(exe.words_owner, "program", build)


def _table(exe: Executable, pool: PoolConfig, timing: cost.Timing) -> InstrTable:
    return _cache(exe.words_owner, ("table", pool.core, timing),
                  lambda: instr_table(exe.words, pool.core, timing))


def host_ops(package: Package) -> list[str]:
    """The ops the package's host layers run in numpy, in order (`Layer.host_ops`)."""
    return [op for ops in package.host_ops().values() for op in ops]


# ---------------------------------------------------------------------------------------------
# The machine


@dataclass(eq=False)
class _Tenant:
    name: str
    index: int
    cores: tuple[int, ...]
    exe: Executable | None = None
    inputs: list[np.ndarray] | None = None
    memory: Memory | None = None
    weights_loaded: bool = False


class Machine:
    """A pool of cores (`pool`) simulated in `mode` ("int8": the hardware, bit-exact; "fp32":
    the same frames on real values, for checking against onnxruntime).

    Dispatch (`fvir.backend.timing` has the details):

    1. Level 1 keeps the tenant -> cores map (`assign`), hands every core its frames in link
       order (a fetch costs the core's dispatcher `timing.frame_cycles`, overlapped with the
       previous frame) and runs the barriers: SYNC releases a tenant's cores `sync_cycles`
       after the last of them arrives with all its engines idle.
    2. Level 2, per core, issues in program order into one queue of `queue_depth` entries per
       engine (LOAD, CONV, MISC, SAVE), stalling while the next instruction's queue is full.
    3. Each engine runs its queue in order; an instruction starts when its engine is free and
       its dpdon tokens are available, and gives its dpdby tokens when it completes.

    Timing:

    1. Compute and *INIT instructions take `timing.instr_cycles` plus `fvir.hw.cost`'s cycles
       for their fields (PP x ICP x OCP lanes), on their engine only.
    2. LOAD/SAVE take `instr_cycles + dma_latency`, then move their bytes through the DDR bank
       of their core, shared max-min fairly among the transfers in flight; each transfer is
       capped by its core's port (`pool.core.port_bytes_per_cycle`, shared by that core's
       LOAD and SAVE in flight) and, if given, by `port_bytes_per_cycle` (an extra per-
       transfer cap for experiments). A lone LOAD moves min(port, bank) bytes per cycle.
    3. Event-driven and deterministic; cycles are the tenant's last END (or its fault), at
       `pool.core.clock_mhz` for the latency; host layers are wall time, reported apart.
    """

    def __init__(self, pool: PoolConfig, mode: Mode = "int8", *,
                 timing: cost.Timing = cost.DEFAULT_TIMING, queue_depth: int = QUEUE_DEPTH,
                 sync_cycles: int = SYNC_CYCLES,
                 port_bytes_per_cycle: float | None = None,
                 threads: int | None = None, host: HostInterpreter | None = None) -> None:
        if threads is not None and threads < 1:
            raise UserError(f"threads must be at least 1, got {threads}")
        self.pool = pool
        self.host = host  # runs host layers (fvir.backend.host); None: a host layer faults
        # Two host threads where there are two CPUs: the schedule alongside the numerics
        # (which run compiled, without the GIL), and a phase's cores two at a time.
        self.threads = min(2, usable_cpus()) if threads is None else threads
        self.mode: Mode = check_mode(mode)
        self.timing = timing
        self.queue_depth = queue_depth
        self.sync_cycles = sync_cycles
        self.port_bytes_per_cycle = port_bytes_per_cycle
        self.allocator = DdrAllocator(pool)
        self._dtype = storage_dtype(self.mode)
        self._banks: list[np.ndarray] = [np.zeros(0, self._dtype) for _ in range(pool.num_banks)]
        self._tenants: dict[str, _Tenant] = {}
        self._core_owner: dict[int, str] = {}
        self._owner_before: dict[int, str] = {}  # who last ran on each core
        self._states: dict[int, CoreState] = {}
        self._next_index = -1

    # ------------------------------------------------------------------ level-1 map

    def assign(self, tenant: str, cores: Sequence[int]) -> None:
        """Give `tenant` exactly `cores` (runtime-programmable: replaces its previous set).
        A core another tenant holds is an error; a loaded executable linked to other cores
        must be re-linked (`deploy`) before the next run."""
        ids = check_cores(cores, self.pool)
        for c in ids:
            owner = self._core_owner.get(c)
            if owner is not None and owner != tenant:
                raise UserError(f"core {c} belongs to tenant '{owner}'; release it first")
        t = self._tenants.get(tenant)
        if t is None:
            self._next_index += 1  # never reused: the allocator frees regions by index
            t = self._tenants[tenant] = _Tenant(tenant, self._next_index, ids)
        for c in t.cores:
            self._core_owner.pop(c, None)
        t.cores = ids
        for c in ids:
            if self._owner_before.get(c) != tenant:
                # A core changing hands starts clean: nothing of the previous tenant's
                # buffers or configurations is visible to the next one.
                self._states.pop(c, None)
                self._owner_before[c] = tenant
            self._core_owner[c] = tenant

    def cores_of(self, tenant: str) -> tuple[int, ...]:
        return self._tenant(tenant).cores

    def release(self, tenant: str) -> None:
        """Forget `tenant`: its cores return to the pool, its DDR regions to the allocator."""
        t = self._tenant(tenant)
        for c in t.cores:
            self._core_owner.pop(c, None)
        self.allocator.free_tenant(t.index)
        del self._tenants[tenant]

    def executable(self, tenant: str) -> Executable:
        """The executable loaded for `tenant`."""
        t = self._tenant(tenant)
        if t.exe is None:
            raise UserError(f"tenant '{tenant}' has nothing loaded")
        return t.exe

    def _tenant(self, tenant: str) -> _Tenant:
        t = self._tenants.get(tenant)
        if t is None:
            raise UserError(f"unknown tenant '{tenant}' (assign it cores first)")
        return t

    # ------------------------------------------------------------------ linking and loading

    def deploy(self, tenant: str, package: Package, cores: Sequence[int] | None = None, *,
               balance: Balance = "snake", phases: Phases = "layer",
               resident: bool = True) -> Executable:
        """Assign `cores` (default: the tenant's current ones), give the package DDR regions
        in the banks of those cores (freeing the tenant's previous regions) and link it
        (`resident`: keep reused weights in the cores' buffers, `fvir.runtime.residency`)."""
        if cores is not None:
            self.assign(tenant, cores)
        t = self._tenant(tenant)
        self.allocator.free_tenant(t.index)
        t.exe, t.memory, t.weights_loaded = None, None, False
        regions = allocate_segments(package, t.cores, self.pool, self.allocator, t.index)
        allocation = Allocation(t.cores, regions, t.index)
        return link(prepare(package, phases), allocation, self.pool, balance=balance,
                    resident=resident)

    def load(self, tenant: str, exe: Executable,
             inputs: Sequence[np.ndarray] | None = None) -> None:
        """Make `exe` the tenant's program and `inputs` (float32, the model's shapes, ONNX
        order) its inputs for the next run. `exe` must be linked to exactly the tenant's cores
        and to DDR regions no other tenant uses."""
        t = self._tenant(tenant)
        if sorted(int(c) for c in exe.cores) != sorted(t.cores):
            raise UserError(
                f"tenant '{tenant}': executable is linked to cores "
                f"{[int(c) for c in exe.cores]}, but the level-1 map gives it {list(t.cores)}")
        pkg = exe.package
        if inputs is not None and len(inputs) != len(pkg.inputs):
            raise UserError(f"package '{pkg.name}' takes {len(pkg.inputs)} input(s), got "
                            f"{len(inputs)}")
        if self.mode == "fp32" and pkg.weights_f32 is None:
            raise UserError(f"package '{pkg.name}' has no float32 weights, which fp32 mode "
                            f"needs (compile it with `fv compile --fp32`)")
        self._check_disjoint(tenant, exe)
        if t.exe is not exe:
            t.exe, t.memory, t.weights_loaded = exe, None, False
        t.inputs = None if inputs is None else [np.asarray(x, np.float32) for x in inputs]

    def _check_disjoint(self, tenant: str, exe: Executable) -> None:
        mine = [r for r in exe.allocation.regions.values() if r.size]
        for other in self._tenants.values():
            if other.name == tenant or other.exe is None:
                continue
            for r in other.exe.allocation.regions.values():
                for m in mine:
                    if r.size and m.start < r.end and r.start < m.end:
                        raise UserError(f"tenant '{tenant}': region {m} overlaps region {r} of "
                                        f"tenant '{other.name}'")

    # ------------------------------------------------------------------ DDR

    def _bank_view(self, bank: int, start: int, size: int) -> np.ndarray:
        lo = bank_range(self.pool, bank)[0]
        need = start - lo + size
        arr = self._banks[bank]
        if need > arr.size:
            grown = np.zeros(max(need, 2 * arr.size), self._dtype)
            grown[: arr.size] = arr
            self._banks[bank] = arr = grown
            self._rebind_bank(bank)
        return arr[start - lo : start - lo + size]

    def _rebind_bank(self, bank: int) -> None:
        """A bank's array moved: point the memories bound to it at the new one."""
        for t in self._tenants.values():
            if t.memory is not None and t.exe is not None and any(
                    r.bank == bank for r in t.exe.allocation.regions.values()):
                t.memory = self._bind(t, keep_weights=True)

    def _bind(self, t: _Tenant, keep_weights: bool = False) -> Memory:
        """The tenant's Memory: base register -> view of its region, segment-sized."""
        exe = t.exe
        assert exe is not None
        pkg = exe.package
        mem = Memory(self.mode, t.name)
        for i, seg in enumerate(pkg.segments):
            region = exe.allocation.regions[i]
            view = self._bank_view(region.bank, region.start, seg.size)
            mem.bind(int(exe.registers[i]), view, seg.name,
                     writable=seg.kind != SegmentKind.WEIGHTS)
        if not keep_weights:
            t.weights_loaded = False
        return mem

    def _prepare_memory(self, t: _Tenant) -> Memory:
        """The tenant's memory with its weights and its loaded inputs written."""
        mem = self._weights_memory(t)
        if t.inputs is None:
            raise UserError(f"tenant '{t.name}' has no inputs loaded")
        assert t.exe is not None
        pkg = t.exe.package
        for tid, x in zip(pkg.inputs, t.inputs, strict=True):
            write_tensor(mem, pkg.tensors[tid], x)
        return mem

    def _weights_memory(self, t: _Tenant) -> Memory:
        """The tenant's memory (bound on first use, its regions zeroed), weights written."""
        exe = t.exe
        assert exe is not None
        if t.memory is None:
            # Size every bank first so that binding never regrows (and rebinds) midway, and
            # clear the regions: nothing a previous owner of these bytes left is visible.
            for i, seg in enumerate(exe.package.segments):
                r = exe.allocation.regions[i]
                self._bank_view(r.bank, r.start, seg.size).fill(0)
            t.memory = self._bind(t)
        mem = t.memory
        pkg = exe.package
        if not t.weights_loaded:
            for i, seg in enumerate(pkg.segments):
                if seg.kind == SegmentKind.WEIGHTS:
                    blob = weights_blob(pkg, self.mode)
                    if blob.size > seg.size:
                        raise UserError(f"package '{pkg.name}': {blob.size} bytes of weights "
                                        f"for a {seg.size}-byte segment")
                    self._write_readonly(exe, i, blob)
            t.weights_loaded = True
        return mem

    def _write_readonly(self, exe: Executable, seg: int, blob: np.ndarray) -> None:
        """Fill a read-only segment (the weights) through the bank's own array."""
        region = exe.allocation.regions[seg]
        view = self._bank_view(region.bank, region.start, exe.package.segments[seg].size)
        view[: blob.size] = blob
        view[blob.size:] = 0

    def _state(self, core: int) -> CoreState:
        state = self._states.get(core)
        if state is None:
            state = self._states[core] = CoreState(self.pool.core, self.mode)
        return state

    # ------------------------------------------------------------------ running

    def run(self, *, functional: bool = True, trace: str | Path | None = None,
            tenants: Sequence[str] | None = None) -> RunReport:
        """Run every loaded tenant (or `tenants`) concurrently; see the module docstring.
        `functional=False` skips the numerics (no outputs; same cycles). `trace` writes a
        Chrome/Perfetto trace of the schedule to that file."""
        names = list(self._tenants) if tenants is None else list(tenants)
        active = []
        for name in names:
            t = self._tenant(name)
            if t.exe is None:
                if tenants is not None:
                    raise UserError(f"tenant '{name}' has nothing loaded")
                continue
            if sorted(int(c) for c in t.exe.cores) != sorted(t.cores):
                raise UserError(f"tenant '{name}' was re-assigned cores {list(t.cores)}; "
                                f"deploy its package again")
            active.append(t)
        if not active:
            raise UserError("no tenant has a program loaded")
        wall: dict[str, float] = {}
        t0 = time.perf_counter()
        programs: list[CoreProgram] = []
        tables: dict[str, InstrTable] = {}
        for t in active:
            assert t.exe is not None
            tables[t.name] = _table(t.exe, self.pool, self.timing)
            programs += self._programs(t, tables[t.name])
        wall["build_s"] = time.perf_counter() - t0

        outputs: dict[str, list[np.ndarray] | None] = {}
        host_ms: dict[str, dict[str, float]] = {}
        functional_s: dict[str, float] = {}
        errors: dict[int, SimError] = {}
        by_tenant = {t.index: [p for p in programs if p.tenant == t.index] for t in active}
        # The schedule does not depend on the data: with a spare host thread it is computed
        # while the numerics run, and kept unless a fault changes where a tenant stops.
        ahead = _Ahead(self, programs) if functional and self.threads > 1 else None
        t0 = time.perf_counter()
        for t in active:
            start = time.perf_counter()
            if functional:
                outs, fault, host_s, stop = self._functional(t)
            else:
                outs, host_s = None, {}
                fault, stop = self._bounds_fault(t, tables[t.name])
            outputs[t.name], host_ms[t.name] = outs, {k: v * 1e3 for k, v in host_s.items()}
            if fault is not None:
                errors[t.index] = fault
                core, pos = stop
                for p in by_tenant[t.index]:
                    if p.core == core:
                        p.stop = pos
            functional_s[t.name] = time.perf_counter() - start
        wall["functional_s"] = time.perf_counter() - t0

        if ahead is not None and not errors:
            sched, wall["timing_s"] = ahead.result()
        else:
            if ahead is not None:
                ahead.result()  # its schedule ignores the fault: recompute with it
            t0 = time.perf_counter()
            sched = self._schedule(programs, errors)
            wall["timing_s"] = time.perf_counter() - t0
        for p in programs:
            p.stop = -1  # the programs are cached per link; faults are per run
        report = self._report(active, tables, sched, outputs, host_ms, functional_s, wall)
        if trace is not None:
            t0 = time.perf_counter()
            write_trace(report, tables, trace)
            wall["trace_s"] = time.perf_counter() - t0
        return report

    def _schedule(self, programs: list[CoreProgram], errors: dict[int, SimError]) -> Schedule:
        return simulate(programs, self.pool, timing=self.timing, queue_depth=self.queue_depth,
                        sync_cycles=self.sync_cycles,
                        port_bytes_per_cycle=self.port_bytes_per_cycle, errors=errors)

    def run_batch(self, tenant: str, input_sets: Iterable[Sequence[np.ndarray]], *,
                  processes: int | None = None) -> BatchReport:
        """Run many input sets through the tenant's loaded executable: the timing once (it
        does not depend on the data, so every set takes the same cycles: `report`), the
        numerics of every set, each on its own DDR copy of the tenant's writable segments and
        its own core states (the read-only weights shared): on `processes` forked worker
        processes (default: the CPUs this process may use, at most one per set; the machine's
        memory is shared copy-on-write), or in this process, up to `threads` sets at once.
        Outputs come back in the order of `input_sets`; a set that faults has None and its
        fault in `faults` (faults depend on the instructions only, so the timing run finds
        the bounds faults of all of them)."""
        if processes is not None and processes < 1:
            raise UserError(f"processes must be at least 1, got {processes}")
        t = self._tenant(tenant)
        exe = self.executable(tenant)
        pkg = exe.package
        sets = [[np.asarray(x, np.float32) for x in xs] for xs in input_sets]
        for xs in sets:
            if len(xs) != len(pkg.inputs):
                raise UserError(f"package '{pkg.name}' takes {len(pkg.inputs)} input(s), got "
                                f"{len(xs)}")
        start = time.perf_counter()
        report = self.run(functional=False, tenants=[tenant])
        timing_s = time.perf_counter() - start
        start = time.perf_counter()
        program = _program(exe)
        shared = self._weights_memory(t)
        workers = max(1, min(self.threads, len(sets)))
        contexts: dict[int, Context] = {}  # host thread -> its private context

        def one(xs: list[np.ndarray]) -> Outcome:
            ctx = contexts.get(threading.get_ident())
            if ctx is None:
                ctx = contexts[threading.get_ident()] = self._private_context(t, shared)
            for tid, x in zip(pkg.inputs, xs, strict=True):
                write_tensor(ctx.memory, pkg.tensors[tid], x)
            return execute(exe, program, ctx)

        procs = min(len(sets), usable_cpus() if processes is None else processes)
        if procs > 1 and ("fork" not in multiprocessing.get_all_start_methods()
                          or multiprocessing.current_process().daemon):  # no children there
            procs = 1
        if procs > 1:
            workers = 1
            outcomes = _in_processes(one, sets, procs)
        elif workers > 1:
            outcomes = list(execution_pool(workers).map(one, sets))
        else:
            outcomes = [one(xs) for xs in sets]
        return BatchReport(report, [o.outputs for o in outcomes], [o.fault for o in outcomes],
                           {"timing_s": timing_s, "functional_s": time.perf_counter() - start,
                            "threads": float(workers), "processes": float(procs)})

    def _private_context(self, t: _Tenant, shared: Memory) -> Context:
        """A memory with the tenant's bindings, its writable segments private zeroed copies,
        and fresh core states: one input set of a batch runs on it."""
        mem = Memory(self.mode, t.name)
        for seg, b in shared.bindings.items():
            array = b.array if not b.writable else np.zeros(b.array.size, b.array.dtype)
            mem.bind(seg, array, b.name, writable=b.writable)
        states: dict[int, CoreState] = {}

        def state(core: int) -> CoreState:
            s = states.get(core)
            if s is None:
                s = states[core] = CoreState(self.pool.core, self.mode)
            return s

        return Context(mem, state, self.host)

    def _programs(self, t: _Tenant, table: InstrTable) -> list[CoreProgram]:
        exe = t.exe
        assert exe is not None

        def build() -> list[CoreProgram]:
            frames = exe.package.frames
            return [core_program(table, frames,
                                 [exe.frames_of(int(c), p) for p in range(exe.num_phases)],
                                 int(c), t.index)
                    for c in exe.cores]

        progs = _cache(exe, ("programs", t.index, self.timing), build)
        for p in progs:
            p.tenant = t.index
        return progs

    def _functional(self, t: _Tenant) -> tuple[list[np.ndarray] | None, SimError | None,
                                                  dict[str, float], tuple[int, int]]:
        """Pass 1: outputs (None on a fault), the fault, wall seconds per host layer, and the
        faulting instruction as (core, stream position)."""
        exe = t.exe
        assert exe is not None
        mem = self._prepare_memory(t)
        out = execute(exe, _program(exe), Context(mem, self._state, self.host),
                      threads=self.threads)
        return out.outputs, out.fault, out.host_s, self._stop(t, out)

    def _stop(self, t: _Tenant, out: Outcome) -> tuple[int, int]:
        """The faulting instruction of `out` as (core, stream position), or (-1, -1)."""
        if out.fault is None or out.where[0] < 0:
            return -1, -1
        core, frame = out.where
        return core, self._position(t, core, frame, out.fault.index or 0)

    def _position(self, t: _Tenant, core: int, frame: int, index: int) -> int:
        """Stream position, in `core`'s program, of instruction `index` of `frame`."""
        assert t.exe is not None
        for p in _cache(t.exe, ("programs", t.index, self.timing), lambda: []):
            if p.core == core:
                kind, arg = np.asarray(p.kind), np.asarray(p.arg)
                marker = np.flatnonzero((kind == FRAME_ITEM) & (arg == frame))
                return int(marker[0]) + 1 + index
        return -1

    def _bounds_fault(self, t: _Tenant,
                      table: InstrTable) -> tuple[SimError | None, tuple[int, int]]:
        """The level-1 bounds check without numerics: the first LOAD/SAVE of every core that
        leaves its segment, over the decoded fields (the rule `Memory.access` applies). One
        fault per tenant is reported: the one earliest in its core's stream."""
        exe = t.exe
        assert exe is not None
        pkg = exe.package
        dma = np.isin(table.op, (int(Opcode.LOAD), int(Opcode.SAVE))) & (table.nbytes > 0)
        reg = table.seg
        size = exe.sizes[reg]
        bound = exe.bases[reg] >= 0
        readonly = np.zeros(len(exe.sizes), bool)
        for i, seg in enumerate(pkg.segments):
            if seg.kind == SegmentKind.WEIGHTS:
                readonly[int(exe.registers[i])] = True
        save = table.op == int(Opcode.SAVE)
        outside = (table.lo < 0) | (table.hi > size)
        bad = dma & (~bound | outside | (save & readonly[reg]))
        if not bad.any():
            return None, (-1, -1)
        best: tuple[int, int, int] | None = None  # (position, core, row)
        for p in self._programs(t, table):
            arg = np.asarray(p.arg)
            eng = np.asarray(p.kind) < 4
            hits = np.flatnonzero(eng & bad[np.where(eng, arg, 0)])
            if len(hits) and (best is None or hits[0] < best[0]):
                best = (int(hits[0]), p.core, int(arg[hits[0]]))
        assert best is not None
        pos, core, row = best
        frame = int(np.searchsorted(pkg.frames["instr_start"].astype(np.int64), row,
                                    side="right") - 1)
        index = row - int(pkg.frames["instr_start"][frame])
        r = int(reg[row])
        name = next((s.name for i, s in enumerate(pkg.segments)
                     if int(exe.registers[i]) == r), "")
        op = "SAVE" if save[row] else "LOAD"
        access = "writes" if save[row] else "reads"
        problem = ("unbound" if not bound[row] else "outside" if outside[row] else "read-only")
        err = MemoryFault(op, access, r, int(table.lo[row]), int(table.hi[row]),
                          int(size[row]) if bound[row] else None, name, problem)
        err.locate(tenant=t.name, layer=pkg.layers[int(pkg.frames["layer"][frame])].name,
                   frame=frame, index=index)
        return err, (core, pos)

    # ------------------------------------------------------------------ reports

    def _report(self, active: list[_Tenant], tables: Mapping[str, InstrTable],
                sched: Schedule, outputs: Mapping[str, list[np.ndarray] | None],
                host_ms: Mapping[str, Mapping[str, float]], functional_s: Mapping[str, float],
                wall: dict[str, float]) -> RunReport:
        clock = self.pool.core.clock_mhz
        by_index = {t.index: t for t in active}
        cores: dict[int, CoreReport] = {}
        tenant_macs: dict[int, int] = {}
        tenant_end: dict[int, float] = {}
        for ct in sched.cores:
            p = ct.program
            t = by_index[p.tenant]
            table = tables[t.name]
            kind = np.asarray(p.kind)
            arg = np.asarray(p.arg)
            done = (kind < 4) & ~np.isnan(ct.end)
            dur = np.where(done, ct.end - ct.start, 0.0)
            busy = {ENGINE_NAMES[e]: float(dur[kind == e].sum()) for e in range(4)}
            macs = int(table.macs[arg[done]].sum())
            frames = int(((kind == FRAME_ITEM) & ~np.isnan(ct.start)).sum())
            cores[p.core] = CoreReport(p.core, t.name, busy, frames, int(done.sum()), macs)
            tenant_macs[p.tenant] = tenant_macs.get(p.tenant, 0) + macs
            end = ct.finish if ct.finish is not None else np.nanmax(
                np.concatenate([ct.end, [0.0]]))
            tenant_end[p.tenant] = max(tenant_end.get(p.tenant, 0.0), float(end))
        tenants: dict[str, TenantReport] = {}
        peak = self.pool.core.macs_per_cycle
        for t in active:
            exe = t.exe
            assert exe is not None
            end = sched.tenant_fault.get(t.index, tenant_end.get(t.index, 0.0))
            cycles = int(np.ceil(end))
            fault = sched.tenant_error.get(t.index)
            macs = tenant_macs.get(t.index, 0)
            layer_cycles, layer_macs = self._layer_stats(exe, tables[t.name],
                                                         sched.barriers.get(t.index, []))
            tenants[t.name] = TenantReport(
                name=t.name,
                package=exe.package.name,
                cores=[int(c) for c in exe.cores],
                cycles=cycles,
                latency_ms=cycles / (clock * 1e3),
                outputs=outputs.get(t.name) if fault is None else None,
                fault=fault,
                host_ms=sum(host_ms.get(t.name, {}).values()),
                host_layers={layer.name: host_ms.get(t.name, {}).get(layer.name, 0.0)
                             for layer in exe.package.layers if layer.kind == "host"},
                macs=macs,
                mac_utilization=macs / (cycles * peak * len(exe.cores)) if cycles else 0.0,
                layer_cycles=layer_cycles,
                layer_macs=layer_macs,
                executable=exe,
                functional_s=functional_s.get(t.name, 0.0),
            )
        return RunReport(self.pool, self.mode, int(np.ceil(sched.makespan)), tenants, cores,
                         sched.bank_busy, sched.bank_bytes, sched, wall)

    @staticmethod
    def _layer_stats(exe: Executable, table: InstrTable,
                     releases: Sequence[float]) -> tuple[dict[str, float], dict[str, int]]:
        """Cycles per phase (between barrier releases) and MACs per accelerator layer."""
        pkg, prep = exe.package, exe.prepared
        cycles: dict[str, float] = {}
        prev = 0.0
        for p, release in enumerate(releases):
            name = "+".join(pkg.layers[li].name for li in prep.phase_layers[p])
            cycles[name] = release - prev
            prev = release
        frames = pkg.frames
        start = frames["instr_start"].astype(np.int64)
        count = frames["instr_count"].astype(np.int64)
        total = int(count.sum())
        first = np.cumsum(count) - count
        rows = np.repeat(start - first, count) + np.arange(total)
        layer_of_row = np.repeat(frames["layer"].astype(np.int64), count)
        per_layer = np.bincount(layer_of_row, weights=table.macs[rows].astype(np.float64),
                                minlength=len(pkg.layers))
        macs = {layer.name: int(per_layer[i]) for i, layer in enumerate(pkg.layers)
                if layer.kind != "host" and layer.frame_count}
        return cycles, macs


HANDOFF_S = 5e-5
"""The interpreter's GIL switch interval while a schedule is computed on its own thread. The
event loop is pure Python and holds the GIL; the numerics need it only between compiled calls
(once per phase and core) and would otherwise wait up to the default 5 ms for each handoff
(ResNet-50, one core, two threads: 0.111 s a run at 5 ms, 0.077 s at 0.05 ms)."""

_handoff_lock = threading.Lock()
_handoff_users = 0
_handoff_saved = 0.0


def _fast_handoff(on: bool) -> None:
    """Enter (on) or leave a stretch with the short switch interval; the first to enter saves
    the interpreter's interval and the last to leave restores it."""
    global _handoff_users, _handoff_saved
    with _handoff_lock:
        if on:
            if _handoff_users == 0:
                _handoff_saved = sys.getswitchinterval()
                sys.setswitchinterval(HANDOFF_S)
            _handoff_users += 1
        else:
            _handoff_users -= 1
            if _handoff_users == 0:
                sys.setswitchinterval(_handoff_saved)


class _Ahead:
    """The fault-free schedule of `programs`, computed on its own host thread (with the short
    GIL switch interval `HANDOFF_S` while it runs)."""

    def __init__(self, machine: Machine, programs: list[CoreProgram]) -> None:
        self._out: tuple[Schedule, float] | None = None
        self._error: BaseException | None = None

        def work() -> None:
            start = time.perf_counter()
            try:
                self._out = machine._schedule(programs, {}), time.perf_counter() - start
            except BaseException as e:  # re-raised by `result` in the caller's thread
                self._error = e
            finally:
                _fast_handoff(False)

        _fast_handoff(True)
        self._thread = threading.Thread(target=work, name="fvir-timing", daemon=True)
        self._thread.start()

    def result(self) -> tuple[Schedule, float]:
        """The schedule and the seconds its computation took."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._out is not None
        return self._out


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on every platform
        return max(1, os.cpu_count() or 1)


_BATCH: tuple[Callable[[list[np.ndarray]], Outcome], list[list[np.ndarray]]] | None = None
"""What `run_batch`'s forked workers run: the function of one set and the sets."""


def _batch_part(indices: list[int]) -> list[Outcome]:
    assert _BATCH is not None  # set by the parent before it forked this worker
    one, sets = _BATCH
    return [one(sets[i]) for i in indices]


def _in_processes(one: Callable[[list[np.ndarray]], Outcome], sets: list[list[np.ndarray]],
                  n: int) -> list[Outcome]:
    """`one` of every set on `n` forked worker processes, each a strided share of the sets
    (whole GIL each: the numerics are mostly short numpy calls and Python)."""
    global _BATCH
    _BATCH = (one, sets)
    parts = [list(range(i, len(sets), n)) for i in range(n)]
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as workers:
            results = list(workers.map(_batch_part, parts))
    finally:
        _BATCH = None
    outcomes: list[Outcome | None] = [None] * len(sets)
    for part, res in zip(parts, results, strict=True):
        for i, o in zip(part, res, strict=True):
            outcomes[i] = o
    return outcomes  # type: ignore[return-value]


def simulate_package(package: Package, inputs: Sequence[np.ndarray], pool: PoolConfig, *,
                     cores: int | Sequence[int] = 1, mode: Mode = "int8",
                     functional: bool = True, trace: str | Path | None = None,
                     tenant: str = "tenant", resident: bool = True,
                     **machine_options: Any) -> RunReport:
    """Run one package alone on a fresh machine: on cores 0..cores-1 (or the cores listed),
    its segments in their banks, linked with the defaults (`resident`: see `Machine.deploy`).
    `machine_options` go to `Machine`."""
    ids = list(range(cores)) if isinstance(cores, int) else [int(c) for c in cores]
    if isinstance(cores, int) and not 1 <= cores <= pool.num_cores:
        raise UserError(f"cores must be 1..{pool.num_cores} for pool '{pool.name}', got {cores}")
    machine = Machine(pool, mode, **machine_options)
    exe = machine.deploy(tenant, package, ids, resident=resident)
    machine.load(tenant, exe, inputs)
    return machine.run(functional=functional, trace=trace)
