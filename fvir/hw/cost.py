"""Cycle cost model of one core: what the static compiler uses to choose tilings and to label
every frame with its cost, and what the simulator's timing reuses per instruction.

Everything is in core clock cycles and is deliberately simple arithmetic, so that `dnn-tile`
can evaluate hundreds of candidate tilings per layer and the simulator can cost an instruction
without Python-level loops.

Compute (one engine busy; ceil-divisions model the lanes an odd shape leaves idle):

- CONV: ceil(rows/PP) * cols * ceil(ic/ICP) * ceil(oc/OCP) * kh * kw. The PP x ICP x OCP MAC
  array takes PP output pixels (one column of PP rows) x ICP input channels x OCP output
  channels per cycle, one kernel tap at a time (the DPU's schedule).
- CONV depthwise: ceil(rows/PP) * cols * ceil(c/ICP) * kh * kw. Channel i only feeds output i,
  so the ICP lanes carry ICP channels and the OCP dimension has nothing to reduce: 1/OCP of
  the array is used (why MobileNets run at low PE occupancy on DPUs).
- POOL: ceil(rows/PP) * cols * ceil(c/ICP) * kh * kw: the misc engine compares or adds
  PP x ICP values per cycle, one window tap at a time.
- ELEW: ceil(rows/PP) * cols * ceil(c/ICP): PP x ICP element pairs per cycle.
- MVM: ceil(rows/OCP) * ceil(cols/ICP): one pixel, so the ICP x OCP array does a
  matrix-vector block per cycle and the PP lanes idle (<= 1/PP of peak, the fidelity notes'
  RNN ceiling).
- ACT: ceil(length/ICP): ICP table look-ups per cycle.
- ROW: rows * (3 * ceil(length/ICP) + ROW_LATENCY): three passes over each row at ICP
  elements per cycle (Softmax: max, exp and sum, scale; LayerNorm: sum, squares, normalize
  and affine), plus the row's reciprocal (and LayerNorm's square root), an iterative divider
  of ROW_LATENCY cycles.

Transfers: `transfer_cycles(bytes, bytes_per_cycle)` = ceil(bytes / bytes_per_cycle) plus a
fixed DDR latency per LOAD/SAVE. The bandwidth is a parameter: the compiler assumes every core
of a bank is busy, so a core gets min(port, `bank_bytes_per_cycle / cores_per_bank`), its
port being `CoreConfig.port_bytes_per_cycle` (paper-u200: min(32, 64.2 / 4) = 16 B/cycle: the
bank, not the port, bounds a fully loaded bank); the simulator models contention itself.

Frames: a frame's engines run concurrently and are ordered by dependency tokens, and a frame is
cut into *steps* (slices of PP-multiple output rows): the LOAD engine streams the weights and
biases (the prologue) and then each step's new input rows, the compute engine starts step k once
its rows are in, and the SAVE engine writes step k while step k+1 computes. `pipeline_cycles`
is that three-stage pipeline in closed form over the steps:

    load_end[k]    = prologue + sum(load[0..k])
    compute_end[k] = max(compute_end[k-1], load_end[k]) + compute[k]
    save_end[k]    = max(save_end[k-1], compute_end[k]) + save[k]
    frame          = max(save_end[last], prologue + sum(load) + sum(save)) + Timing.frame_cycles

(the second term because LOAD and SAVE share the core's DDR bandwidth).

Frames on one core do not overlap (each frame ends with a fence, see
`fvir.codegen.frame_plan`), so a core's time is the sum of its frames' costs. The constants in
`Timing` are placeholders of the right order (a few cycles to issue an instruction, ~200 ns of
DDR latency at 300 MHz); they are parameters, not measurements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fvir.hw.config import CoreConfig, PoolConfig


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Timing:
    """Fixed overheads, in cycles."""

    instr_cycles: int = 4  # issuing one instruction on its engine
    dma_latency: int = 64  # from a LOAD/SAVE's start to its first byte
    frame_cycles: int = 32  # frame dispatch and the closing fence


DEFAULT_TIMING = Timing()

# Cycles one level-1 barrier (SYNC) costs: all cores report, the dispatcher releases them. The
# paper gives no number; a few AXI-lite round trips at 300 MHz.
SYNC_CYCLES = 64


# ----------------------------------------------------------------------- per instruction


def conv_cycles(core: CoreConfig, rows: int, cols: int, ic: int, oc: int, kh: int, kw: int) -> int:
    """A CONV of rows x cols output pixels, ic input and oc output channels, kh x kw kernel."""
    return _cdiv(rows, core.pp) * cols * _cdiv(ic, core.icp) * _cdiv(oc, core.ocp) * kh * kw


def dwconv_cycles(core: CoreConfig, rows: int, cols: int, chans: int, kh: int, kw: int) -> int:
    """A depthwise CONV: chans channels, each feeding only its own output."""
    return _cdiv(rows, core.pp) * cols * _cdiv(chans, core.icp) * kh * kw


def pool_cycles(core: CoreConfig, rows: int, cols: int, chans: int, kh: int, kw: int) -> int:
    """A POOL of rows x cols output pixels over a kh x kw window."""
    return _cdiv(rows, core.pp) * cols * _cdiv(chans, core.icp) * kh * kw


def elew_cycles(core: CoreConfig, rows: int, cols: int, chans: int) -> int:
    """An ELEW over rows x cols x chans element pairs."""
    return _cdiv(rows, core.pp) * cols * _cdiv(chans, core.icp)


def mvm_cycles(core: CoreConfig, rows: int, cols: int) -> int:
    """An MVM of a rows x cols weight matrix."""
    return _cdiv(rows, core.ocp) * _cdiv(cols, core.icp)


def act_cycles(core: CoreConfig, length: int) -> int:
    """An ACT over `length` elements."""
    return _cdiv(length, core.icp)


ROW_LATENCY = 48
"""Cycles of a ROW's per-row scalar work: the reciprocal (a 48-bit divider, one bit per
cycle) and, overlapped with it, LayerNorm's square root."""


def row_cycles(core: CoreConfig, rows: int, length: int) -> int:
    """A ROW over `rows` vectors of `length` elements."""
    return rows * (3 * _cdiv(length, core.icp) + ROW_LATENCY)


def transfer_cycles(nbytes: int, bytes_per_cycle: float, latency: int = 0) -> int:
    """Cycles to move `nbytes` between DDR and a buffer at `bytes_per_cycle`, plus `latency`
    (pass `Timing.dma_latency` for one LOAD/SAVE). Zero bytes cost nothing."""
    if nbytes <= 0:
        return 0
    if bytes_per_cycle <= 0:
        raise ValueError(f"bytes_per_cycle must be positive, got {bytes_per_cycle}")
    return math.ceil(nbytes / bytes_per_cycle) + latency


def core_bytes_per_cycle(pool: PoolConfig, sharing: int | None = None) -> float:
    """A core's DDR bandwidth in bytes per cycle when `sharing` cores of its bank (default: all
    `cores_per_bank`) transfer at once: its share of the bank, capped by its own port."""
    cores = pool.cores_per_bank if sharing is None else sharing
    if cores < 1:
        raise ValueError(f"sharing must be at least 1, got {cores}")
    return min(pool.core.port_bytes_per_cycle, pool.bank_bytes_per_cycle / cores)


# ------------------------------------------------------------------------------ per frame


@dataclass(frozen=True)
class Step:
    """One step of a frame: its input transfer, compute and output transfer, in cycles."""

    load: int
    compute: int
    save: int


def pipeline_cycles(prologue: int, steps: Sequence[Step], timing: Timing = DEFAULT_TIMING) -> int:
    """Cycles of a frame whose LOAD engine first spends `prologue` cycles (weights, biases)
    and then runs `steps` through the load -> compute -> save pipeline (module docstring)."""
    load_end = prologue
    compute_end = save_end = 0
    for s in steps:
        load_end += s.load
        compute_end = max(compute_end, load_end) + s.compute
        save_end = max(save_end, compute_end) + s.save
    # LOAD and SAVE share the core's DDR bandwidth: all transfers back to back bound the frame.
    transfers = prologue + sum(s.load + s.save for s in steps)
    return max(save_end, compute_end, load_end, transfers) + timing.frame_cycles
