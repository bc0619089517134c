"""A simulated core's state: its on-chip buffers, the configurations the *INIT instructions
latch, and the dpdon/dpdby token counters (docs/isa.md, Engines and dependencies).

1. `CoreState` holds the fmap, weight and bias buffers sized from `CoreConfig` (uint8 bytes in
   int8 mode, float32 elements in fp32 mode), int8 / float32 value views of them, and the
   latched CONVINIT / POOLINIT / ELEWINIT fields (in `latched`, an array the compiled frame
   loop shares, with dict views for the Python steps).
2. `Tokens` is the 4 x 4 counter matrix: `take` before an instruction starts, `give` after it
   completes, `check_empty` at the end of a frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fvir.backend.faults import DependencyError
from fvir.backend.memory import Mode, check_mode, storage_dtype
from fvir.hw.config import CoreConfig
from fvir.isa.spec import SPECS, Buf, Engine, Opcode

BUF_NAMES = {Buf.FMAP: "fmap", Buf.WEIGHT: "weight", Buf.BIAS: "bias"}

ENGINE_OF: dict[Opcode, Engine | None] = {op: spec.engine for op, spec in SPECS.items()}
"""The engine that executes each instruction type (None: the dispatcher)."""

LATCH_OPS = (Opcode.CONVINIT, Opcode.ELEWINIT, Opcode.POOLINIT)
"""The configurations `CoreState.latched` holds, by row."""

ROW_WIDTH = 2 + max(len(spec.fields) for spec in SPECS.values())
"""Columns of an instruction row: the opcode, the fields in the ISA table's order, and last
(`TABLE_COLUMN`) the compiled loop's index of an ACT's table."""

TABLE_COLUMN = ROW_WIDTH - 1


def row_of(op: Opcode, fields: dict[str, int]) -> np.ndarray:
    """The instruction row of `op` with `fields` (every field of `op`, in the ISA table's
    order, as `Instruction.fields` has them): what the compiled functions read."""
    row = np.zeros(ROW_WIDTH, np.int64)
    row[0] = int(op)
    values = list(fields.values())
    row[1 : 1 + len(values)] = values
    return row


# ---------------------------------------------------------------------------------------------
# State


class Tokens:
    """The 4 x 4 dependency token counters of one core: `count[p][q]` is tok[P->Q].

    `ready`/`take` before an instruction starts, `give` after it completes (docs/isa.md,
    Engines and dependencies). `take` raises when a token is missing: a driver executing in
    program order calls it only when every earlier instruction has completed, so a missing
    token is one that no earlier instruction produced, and the core would wait forever.
    """

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = [[0] * 4 for _ in range(4)]

    @staticmethod
    def check_masks(op: Opcode, dpdon: int, dpdby: int) -> None:
        """An instruction's masks must not name its own engine; SYNC/END have none."""
        engine = ENGINE_OF[op]
        if engine is None:
            if dpdon or dpdby:
                raise DependencyError("has dependency masks, but the dispatcher runs it as a "
                                      "full fence (dpdon and dpdby must be 0)", op.name)
            return
        for name, mask in (("dpdon", dpdon), ("dpdby", dpdby)):
            if mask & engine.bit:
                raise DependencyError(
                    f"names its own engine {engine.name} in {name} (its bit must be 0)", op.name)

    def ready(self, engine: Engine, dpdon: int) -> bool:
        """Whether every token `dpdon` waits for is available to `engine`."""
        e = int(engine)
        return all(self.count[p][e] > 0 for p in range(4) if dpdon >> p & 1)

    def take(self, op: Opcode, dpdon: int) -> None:
        """Consume the tokens instruction `op` waits for (raise if one is missing)."""
        engine = ENGINE_OF[op]
        if engine is None or not dpdon:
            return
        e = int(engine)
        missing = [p for p in range(4) if dpdon >> p & 1 and self.count[p][e] == 0]
        if missing:
            names = ", ".join(f"{Engine(p).name}->{engine.name}" for p in missing)
            raise DependencyError(
                f"waits for a {names} token that no earlier instruction produced (the core "
                f"would deadlock)", op.name)
        for p in range(4):
            if dpdon >> p & 1:
                self.count[p][e] -= 1

    def give(self, op: Opcode, dpdby: int) -> None:
        """Signal the engines in `dpdby` that instruction `op` completed."""
        engine = ENGINE_OF[op]
        if engine is None:
            return
        row = self.count[int(engine)]
        for q in range(4):
            if dpdby >> q & 1:
                row[q] += 1

    def leftover(self) -> list[tuple[Engine, Engine, int]]:
        """Tokens produced but not consumed: (from, to, count)."""
        return [(Engine(p), Engine(q), n) for p, row in enumerate(self.count)
                for q, n in enumerate(row) if n]

    def check_empty(self) -> None:
        """A stream (a frame) must leave every counter as it found it: at zero."""
        left = self.leftover()
        if left:
            listed = ", ".join(f"{p.name}->{q.name} x{n}" for p, q, n in left)
            raise DependencyError(f"the stream ends with tokens never consumed: {listed} "
                                  f"(each token a frame signals must be consumed within it)")

    def reset(self) -> None:
        for row in self.count:
            row[:] = [0, 0, 0, 0]


class _Latch:
    """A `CoreState` attribute: the fields of the last `op` instruction (None: none since the
    last `clear_configs`), a dict view of row `which` of the state's `latched`."""

    def __init__(self, which: int, op: str) -> None:
        self.which = which
        self.__doc__ = f"The fields of the last {op} (None: none since the last clear_configs)."

    def __get__(self, state: CoreState | None, owner: type | None = None) -> Any:
        return self if state is None else state._latched(self.which)

    def __set__(self, state: CoreState, cfg: dict[str, int] | None) -> None:
        state._latch(self.which, cfg)


class CoreState:
    """What one core's engines hold: buffers, latched configurations, token counters.

    `raw[buf]` is each buffer's storage (uint8 bytes in int8 mode, float32 elements in fp32
    mode; same length either way). `fmap`/`weight` are the value views the compute
    instructions use (int8 views of the bytes, or the float32 arrays themselves); `bias` is the
    raw bias buffer (int32 values are read at byte addresses). `conv_cfg`, `pool_cfg`,
    `elew_cfg` are the fields of the last CONVINIT / POOLINIT / ELEWINIT, or None.
    """

    def __init__(self, core: CoreConfig, mode: Mode = "int8") -> None:
        self.core = core
        self.mode: Mode = check_mode(mode)
        dtype = storage_dtype(self.mode)
        self.raw: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            np.zeros(core.fmap_buffer_bytes, dtype),
            np.zeros(core.weight_buffer_bytes, dtype),
            np.zeros(core.bias_buffer_bytes, dtype),
        )
        if self.mode == "int8":
            self.fmap = self.raw[Buf.FMAP].view(np.int8)
            self.weight = self.raw[Buf.WEIGHT].view(np.int8)
        else:
            self.fmap = self.raw[Buf.FMAP]
            self.weight = self.raw[Buf.WEIGHT]
        self.bias = self.raw[Buf.BIAS]
        # The *INITs' latched fields, shared with the compiled frame loop: row i (LATCH_OPS[i])
        # is [generation (0: none), then the fields at their columns in an instruction row];
        # the dicts the Python steps read are views built on demand.
        self.latched = np.zeros((len(LATCH_OPS), ROW_WIDTH), np.int64)
        self._views: list[tuple[int, dict[str, int] | None]] = [(0, None)] * len(LATCH_OPS)
        self.tokens = Tokens()

    def _latched(self, which: int) -> dict[str, int] | None:
        row = self.latched[which]
        gen = int(row[0])
        seen, view = self._views[which]
        if gen != seen:
            if gen == 0:
                view = None
            else:
                names = SPECS[LATCH_OPS[which]].names
                view = dict(zip(names, row[1 : 1 + len(names)].tolist(), strict=True))
            self._views[which] = (gen, view)
        return view

    def _latch(self, which: int, cfg: dict[str, int] | None) -> None:
        row = self.latched[which]
        if cfg is None:
            row[:] = 0
        else:
            values = list(cfg.values())
            row[1 : 1 + len(values)] = values
            row[0] += 1
        self._views[which] = (int(row[0]), cfg)

    conv_cfg = _Latch(0, "CONVINIT")
    elew_cfg = _Latch(1, "ELEWINIT")
    pool_cfg = _Latch(2, "POOLINIT")

    def clear_configs(self) -> None:
        """Forget every latched *INIT (a frame must re-issue the ones it relies on)."""
        self.conv_cfg = self.pool_cfg = self.elew_cfg = None

    def poison(self) -> None:
        """Overwrite every buffer with garbage (NaN in fp32 mode), so that a frame reading data
        it did not load itself gives visibly wrong results instead of depending on which frame
        ran on the core before it."""
        fill = np.nan if self.mode == "fp32" else 0xA5
        for arr in self.raw:
            arr.fill(fill)
