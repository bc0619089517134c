"""The compiled frame loop: a core's int8 frames run in C (`fvir.backend._engine.run_spans`),
instruction by instruction in program order, with Python only where the loop stops.

1. At import the loop is told, from the ISA table, the column of every field it reads in an
   instruction row and the value of every opcode it runs (it names fields, never numbers
   them).
2. `Program.build`: an executable's instructions as rows [opcode, fields in the ISA table's
   order] (decoded once, by opcode), its resolved Python steps, and per frame whether its
   token protocol, fences and masks are clean: a dry run of `functional.run_resolved` with
   no-op steps (the protocol depends only on the instructions). Only clean frames run in C,
   which therefore counts no tokens.
3. `run_frames` runs one core's frames of a phase. Runs of consecutive clean frames go to
   the loop. Where it stops (an instruction it does not run: ROW; or one it would fault on,
   which it leaves untouched) that instruction's Python step runs, raising
   the fault (located at its frame and index) or doing the work, and the loop resumes after
   it. A frame that is not clean runs through `run_resolved`, which raises its protocol error
   where program order meets it. fp32 mode runs every frame through `run_resolved`.
4. The loop runs LOAD, SAVE, CONV, ELEW, POOL, MVM and ACT (through the table the Python side
   built, `misc.table_of`) with the same compiled functions the Python steps call, so each
   instruction has one definition whichever driver runs it. It releases
   the GIL, so cores (or input sets) on several host threads run at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import fvir.backend._engine as _engine
from fvir.backend.faults import SimError
from fvir.backend.functional import Resolved, protocol_error, run_resolved
from fvir.backend.memory import Memory
from fvir.backend.misc import table_of
from fvir.backend.state import ROW_WIDTH, TABLE_COLUMN, CoreState
from fvir.isa.encoding import columns
from fvir.isa.spec import REQUANT_MUL_MAX, SPECS, Opcode


def _configure() -> None:
    cols = []
    for name in _engine.field_names():
        op, field = name.split(".")
        cols.append(1 + SPECS[Opcode[op]].names.index(field))
    ops = [int(Opcode[name]) for name in _engine.op_names()]
    _engine.configure(np.array(cols, np.int64), np.array(ops, np.int64), REQUANT_MUL_MAX,
                      TABLE_COLUMN)


_configure()

Span = tuple[int, int, int]
"""A frame: its id, first row and end row."""


@dataclass(frozen=True)
class Program:
    """An executable's instructions for both drivers: `entries` (the Python steps), `rows`
    ([n, ROW_WIDTH] int64 for the loop), `tables` (the ACTs' tables, [k, 256] int8, indexed by
    an ACT row's TABLE_COLUMN; -1 where ACT raises instead) and `clean` (per frame: its
    protocol is clean)."""

    entries: list[Resolved]
    rows: np.ndarray
    tables: np.ndarray
    clean: np.ndarray

    @classmethod
    def build(cls, words: np.ndarray, entries: list[Resolved],
              frames: Sequence[tuple[int, int]]) -> Program:
        """From the executable's words, their resolved entries and every frame's (first row,
        end row)."""
        rows = np.zeros((len(entries), ROW_WIDTH), np.int64)
        for op in Opcode:
            index, fields = columns(words, op)
            if index.size:
                rows[index, 0] = int(op)
                for j, name in enumerate(SPECS[op].names):
                    rows[index, 1 + j] = fields[name]
        tables: list[np.ndarray] = []
        known: dict[tuple[int, ...], int] = {}
        for i in np.flatnonzero(rows[:, 0] == int(Opcode.ACT)).tolist():
            key = tuple(rows[i, 1:TABLE_COLUMN].tolist())
            if key not in known:
                table = table_of(entries[i][4].fields)
                known[key] = -1 if table is None else len(tables)
                if table is not None:
                    tables.append(table)
            rows[i, TABLE_COLUMN] = known[key]
        clean = np.array([protocol_error(entries[a:b]) is None for a, b in frames], bool)
        stacked = np.stack(tables) if tables else np.zeros((0, 256), np.int8)
        return cls(entries, rows, stacked, clean)


def run_frames(program: Program, spans: Sequence[Span], state: CoreState,
               mem: Memory) -> tuple[int, SimError] | None:
    """Run one core's frames in order (see the module docstring); the first fault and its
    frame (the fault located at its index in the frame), or None."""
    entries = program.entries
    compiled = state.mode == "int8"

    def runs_compiled(frame: int) -> bool:
        return compiled and bool(program.clean[frame])

    i = 0
    while i < len(spans):
        frame, a, b = spans[i]
        if not runs_compiled(frame):
            try:
                run_resolved(entries[a:b], state, mem)
            except SimError as e:
                return frame, e
            i += 1
            continue
        j = i + 1
        while j < len(spans) and runs_compiled(spans[j][0]):
            j += 1
        hit = _run_clean(program, spans[i:j], state, mem)
        if hit is not None:
            return hit
        i = j
    return None


def _run_clean(program: Program, spans: Sequence[Span], state: CoreState,
               mem: Memory) -> tuple[int, SimError] | None:
    bounds = np.array([(a, b) for _, a, b in spans], np.int64)
    raw = state.raw
    regions = mem.regions()
    span, row = 0, int(bounds[0, 0])
    while True:
        span, row = _engine.run_spans(program.rows, bounds, span, row, raw[0], raw[1], raw[2],
                                      state.latched, program.tables, regions)
        if span == len(spans):
            return None
        frame, a, _ = spans[span]
        step = program.entries[row][0]
        assert step is not None  # the loop runs SYNC and END of clean frames itself
        try:
            step(state, mem)
        except SimError as e:
            return frame, e.locate(tenant=mem.tenant, index=row - a)
        row += 1
