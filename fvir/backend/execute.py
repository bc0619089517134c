"""The functional pass over a linked executable: its phases in order, host layers in numpy,
accelerator phases frame by frame on each core's state, optionally on several host threads.

1. The executable's instructions are decoded and resolved once into an `engine.Program`
   (each instruction's Python step and token masks, and its row for the compiled frame
   loop); every core's frames then run through `engine.run_frames`: int8 frames in the
   compiled loop, fp32 frames through `functional.run_resolved`, with one definition of every
   instruction whichever driver runs it.
2. Phases run in order. A host phase runs its layers' dnn functions on real values. In an
   accelerator phase each core runs its frames in link order on its own `CoreState`.
3. The cores of one phase are independent (their frames write disjoint bytes and read only
   what earlier phases wrote; each core has its own buffers), so with `threads` > 1 they run
   on a pool of host threads (the compiled loop releases the GIL); the fault
   reported is that of the first faulting core in the executable's core order, the one a
   sequential run stops at.
4. `Context` is what one input set needs of its own: a `Memory` (the tenant's DDR view) and a
   `CoreState` per simulated core, so that several input sets can run at once on different
   threads or worker processes (`Machine.run_batch`), sharing the read-only weights.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from fvir.backend.engine import Program, run_frames
from fvir.backend.faults import SimError
from fvir.backend.host import HostInterpreter, run_host_layer
from fvir.backend.memory import Memory
from fvir.backend.state import CoreState
from fvir.backend.tensors import read_tensor
from fvir.runtime.linker import Executable


@dataclass
class Outcome:
    """One input set's functional result: outputs (None on a fault), the located fault, wall
    seconds per host layer, and the faulting (core, frame) or (-1, -1)."""

    outputs: list[np.ndarray] | None
    fault: SimError | None
    host_s: dict[str, float] = field(default_factory=dict)
    where: tuple[int, int] = (-1, -1)


@dataclass
class Context:
    """What one input set runs on: the tenant's DDR view, one state per simulated core and
    the host's interpreter of host layers (`fvir.backend.host`)."""

    memory: Memory
    states: Callable[[int], CoreState]
    host: HostInterpreter | None = None


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool_in_child() -> None:
    # A forked child has none of the parent's threads: a pool inherited from the parent
    # would queue work that no thread runs (and its lock may have been held at the fork).
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool of at least `threads` host threads (created once, grown if
    asked for more)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads:
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fvir-sim")
        return _POOL


def execute(exe: Executable, program: Program, ctx: Context, *, threads: int = 1) -> Outcome:
    """Run the executable's phases on `ctx` (see the module docstring); the inputs must
    already be in its memory."""
    pkg, prep = exe.package, exe.prepared
    mem = ctx.memory
    frames = pkg.frames
    start_row = frames["instr_start"].astype(np.int64)
    end_row = start_row + frames["instr_count"].astype(np.int64)
    host_s: dict[str, float] = {}
    cores = exe.cores.tolist()
    for p in range(prep.num_phases):
        if prep.phase_host[p]:
            for li in prep.phase_layers[p]:
                t0 = time.perf_counter()
                try:
                    run_host_layer(pkg.layers[li], pkg, mem, ctx.host)
                except SimError as e:
                    e.locate(tenant=mem.tenant, layer=pkg.layers[li].name)
                    return Outcome(None, e, host_s)
                host_s[pkg.layers[li].name] = time.perf_counter() - t0
            continue
        work = []
        for core in cores:
            ids = exe.frames_of(core, p).tolist()
            if ids:
                spans = [(f, int(start_row[f]), int(end_row[f])) for f in ids]
                work.append((core, spans))
        if threads > 1 and len(work) > 1:
            futures = [pool(threads).submit(run_frames, program, spans, ctx.states(core), mem)
                       for core, spans in work]
            results = [f.result() for f in futures]
        else:
            results = []
            for core, spans in work:
                results.append(run_frames(program, spans, ctx.states(core), mem))
                if results[-1] is not None:
                    break
        for (core, _), hit in zip(work, results, strict=False):
            if hit is not None:
                frame, e = hit
                e.locate(tenant=mem.tenant, layer=pkg.layers[int(frames["layer"][frame])].name,
                         frame=frame)
                return Outcome(None, e, host_s, (core, frame))
    outs = [read_tensor(mem, pkg.tensors[tid]) for tid in pkg.outputs]
    return Outcome(outs, None, host_s)
