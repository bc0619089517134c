"""The meaning of every instruction, defined once (design decision 6).

One function per instruction type applies it to a core's state (`CoreState`: the fmap, weight
and bias buffers sized from `CoreConfig`, and the configurations the *INIT instructions latch)
and to the tenant's DDR (`fvir.backend.memory.Memory`). The functions live with their engine
(`fvir.backend.dma`: LOAD/SAVE; `fvir.backend.conv`: CONVINIT/CONV/MVM; `fvir.backend.misc`:
POOLINIT/POOL/ELEWINIT/ELEW/ACT; `fvir.backend.rows`: ROW); this module is their table:
`EXECUTE` maps each opcode to its function, `BUILD` to its step builder. `Tokens` is the
dpdon/dpdby counter protocol.
Drivers decide only *when* an instruction runs: `fvir.backend.functional` runs a stream in
program order, a cycle model can call the same functions at the cycles it computes, and an xDSL
interpreter can call them per vcore op. SYNC and END belong to the drivers (they are
dispatcher fences, not engine work).

Every function has the signature `fn(state, memory, fields)`, where `fields` is the
instruction's fields by name as plain Python ints (`Instruction.fields`, as `decode` builds it):
plain ints make the per-instruction arithmetic (extents, bounds) cheaper than numpy scalars
from `columns` rows would. Faults raised here know only the instruction type; drivers
`locate` them (tenant, frame, index).

Steps (the fast path drivers use): `step_of(op, fields)` is the same instruction as a function
of (state, memory), with everything that depends only on its fields (extents, byte strides,
injectivity, the order of the checks; for CONV/ELEW, per latched configuration) worked out
once and cached by the fields' names and values, so a package's instructions are prepared on
their first run. `EXECUTE[op](state, memory, fields)` is `BUILD[op](fields)(state, memory)`:
one definition either way.

Each function checks what the pseudo-code of docs/isa.md checks, in its order, before changing
anything (`MemoryFault` for DDR, `BufferFault` on chip, `ProgramError`), then applies it:

- int8 mode: LOAD/SAVE's copy, CONV, MVM (a 1 x 1 CONV of one pixel), ELEW, POOL and ACT's
  table lookup are compiled C (`fvir.backend._engine`, built at install time), the only
  definitions of that arithmetic; the compiled frame loop (`fvir.backend.engine`) calls the
  same functions. CONV's products are exact integers (int8 x int8 in int32 chunks that cannot
  overflow, AVX512-VNNI where the CPU has it, portable loops otherwise: the same integers);
  every requantization is int64, as the pseudo-code's helpers say, wrapping like numpy's
  int64. ACT's 256-entry tables are built in numpy from the real functions; ROW (Softmax and
  LayerNorm rows) is numpy.
- Zero points: CONV's inputs are never offset (its padding takes the value in_zp, the compiler
  folds -in_zp * sum(w) into the bias), so CONV's and MVM's products stay int8 x int8. Output
  zero points are added after the activation, then saturated.
- Multipliers (CONVINIT's or MVM's `scaled`): requant(acc * mul, ...) in int64 (|acc| < 2**31
  and mul <= REQUANT_MUL_MAX < 2**24); a multiplier outside 1..REQUANT_MUL_MAX is a
  `ProgramError`, checked before anything is written.

Operands are read before results are written, as in the pseudo-code (whose X is defined before
the output loop), so an output may equal an input (ELEW, ACT). When an output block overlaps
itself (a pixel stride smaller than the channels), the later write in loop order wins, as in the
sequential pseudo-code. Blocks whose output partially overlaps an input are outside what the
ISA promises (an engine streams), and are computed as "read everything, then write".

fp32 mode (checking tiling and addressing against onnxruntime, *not* a hardware model)
--------------------------------------------------------------------------------------
Every memory, DDR segment and on-chip buffer alike, is a float32 array indexed like the int8
byte array: element i holds the real value of byte i. An int32 bias at byte a is the float bias
at element a (elements a+1..a+3 unused); a float32 tensor in DDR at byte a keeps element j at
a + 4*j. Byte addresses, strides and sizes in the instructions are therefore used unchanged, so
the very frames the compiler emits run on real values, and any tiling or addressing mistake
shows up as a mismatch with onnxruntime instead of being hidden by quantization noise.
Arithmetic is float32 and every integer-only step is dropped:

- CONV/MVM: acc = sum(x * w) + bias; `shift_cut` and `shift_bias` are ignored; no saturation.
  With `scaled` the bias of output o is the element at bias_addr + 8*o and the multipliers
  are ignored (the weights' float shadow already holds real values).
- ELEW: a + b or a * b; `shift_a`, `shift_b`, `shift_out` are ignored.
- POOL AVG: the window sum divided by kernel_h * kernel_w (padding counts, as in int8 mode);
  `avg_mul`/`avg_shift` are ignored. MAX is unchanged.
- Fused activations have their real meaning (`activate_real`): RELU max(y, 0); RELU6
  min(max(y, 0), 6.0) (in int8 act_arg is the clamp in the output's fixed point, which fp32
  mode does not know, so the clamp is always 6.0: a clip to another bound cannot be checked
  in fp32 mode); LEAKY y if y >= 0 else y * act_arg / 256 (the slope as quantized).
- ACT applies the real function; `in_frac`/`out_frac` are ignored.
- Zero points (`in_zp`, `out_zp`, `zp_a`, `zp_b`, `zp_out`) are ignored: padding stays 0.0 and
  no value is offset (memories hold real values).
- ROW computes the real softmax / LayerNorm (epsilon recovered from eps_q and in_frac).
- LOAD/SAVE copy elements exactly like bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from fvir.backend.conv import conv, conv_step, convinit, convinit_step, mvm
from fvir.backend.dma import dma_step, load, save
from fvir.backend.memory import Memory
from fvir.backend.misc import act, elew, elew_step, elewinit, pool, poolinit
from fvir.backend.rows import row
from fvir.backend.state import ENGINE_OF, CoreState, Tokens
from fvir.backend.steps import Fields, Step
from fvir.isa.spec import Opcode

__all__ = ["BUILD", "ENGINE_OF", "EXECUTE", "CoreState", "Fields", "Step", "Tokens", "step_of"]


Semantics = Callable[[CoreState, Memory, Fields], None]

EXECUTE: dict[Opcode, Semantics] = {
    Opcode.LOAD: load,
    Opcode.SAVE: save,
    Opcode.CONVINIT: convinit,
    Opcode.CONV: conv,
    Opcode.POOLINIT: poolinit,
    Opcode.POOL: pool,
    Opcode.ELEWINIT: elewinit,
    Opcode.ELEW: elew,
    Opcode.MVM: mvm,
    Opcode.ACT: act,
    Opcode.ROW: row,
}
"""The function of every engine instruction (SYNC and END are the dispatcher's)."""


def _bound(fn: Semantics) -> Callable[[Fields], Step]:
    def build(f: Fields) -> Step:
        fields = dict(f)
        return lambda state, mem: fn(state, mem, fields)
    return build


BUILD: dict[Opcode, Callable[[Fields], Step]] = {
    Opcode.LOAD: lambda f: dma_step(f, True),
    Opcode.SAVE: lambda f: dma_step(f, False),
    Opcode.CONVINIT: convinit_step,
    Opcode.CONV: conv_step,
    Opcode.POOLINIT: _bound(poolinit),
    Opcode.POOL: _bound(pool),
    Opcode.ELEWINIT: _bound(elewinit),
    Opcode.ELEW: elew_step,
    Opcode.MVM: _bound(mvm),
    Opcode.ACT: _bound(act),
    Opcode.ROW: _bound(row),
}
"""Every engine instruction's step builder: `BUILD[op](fields)(state, memory)` is
`EXECUTE[op](state, memory, fields)`."""

MAX_STEPS = 1 << 18
_STEPS: dict[tuple, tuple[tuple[str, ...], Step]] = {}


def step_of(op: Opcode, f: Fields) -> Step:
    """The step of an engine instruction, built once per distinct (op, fields) and cached."""
    key = (op, *f.values())
    names = tuple(f)
    hit = _STEPS.get(key)
    if hit is not None and hit[0] == names:
        return hit[1]
    step = BUILD[op](f)
    if len(_STEPS) >= MAX_STEPS:
        _STEPS.clear()
    _STEPS[key] = (names, step)
    return step
