"""Functional execution: one core's instruction stream in program order, and a single-core
runner for whole packages (the seed of the simulator; no timing).

Why program order is enough for functional results
--------------------------------------------------
On hardware a core's dispatcher issues instructions in program order to four engines (LOAD,
CONV, MISC, SAVE); each engine runs its own instructions in program order, and the dpdon/dpdby
token counters are the only ordering between engines. `run_stream` executes each instruction
to completion before the next and checks the token protocol as it goes: every token an
instruction waits for must already have been produced by an earlier instruction (otherwise it
raises `DependencyError`: an in-order dispatcher would stall on that instruction forever). When
that check passes, the sequential schedule is one the hardware may itself choose: it keeps each
engine's order, and every wait is satisfied when the instruction starts. A correct program (one
whose tokens order every pair of instructions on different engines that touch the same buffer
bytes, which is the compiler's job: double buffering is expressed exactly this way) computes the
same values under every schedule the hardware may choose, so the sequential result is *the*
result. Races (conflicting accesses that no token orders) are not detected here; the cycle
model, which actually overlaps engines, is where they would show.

Tokens are also checked at the end: a stream (each frame of a package) must leave every counter
at zero, because any frame can run on any core after any other frame (docs/isa.md). An
instruction naming its own engine in a mask, and SYNC/END with non-zero masks, are errors too.

Streams and frames
------------------
A stream is an `[n, 8]` uint32 array. A linked per-core stream ends with END; a package frame
has no END, and the end of the array ends it just the same. Instructions after an END are an
error (dead code is a linker bug). SYNC is a full fence, which in program order is a no-op; a
single core can pass a barrier only when it is the only participant (count <= 1), anything else
would wait forever here, so it raises (the multi-core machine runs real barriers).

`run_package` runs a `Package` on one core: one DDR region per package segment (base register
i = segment i, so relocation is the identity), the model inputs quantized into the INPUT tensors,
the layers in order (accelerator layers frame by frame through `run_stream`; host layers through
the host interpreter it is given, on dequantized values), the OUTPUT tensors dequantized.
Before each frame it clears the latched *INIT configurations and (by default) poisons the
buffers, so a frame that relies on anything a previous frame left on the core fails here
rather than on another core later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fvir.backend.faults import DependencyError, ProgramError, SimError
from fvir.backend.host import HostInterpreter, run_host_layer
from fvir.backend.memory import Memory, Mode, check_mode
from fvir.backend.semantics import ENGINE_OF, EXECUTE, CoreState, Step, Tokens, step_of
from fvir.backend.steps import nothing
from fvir.backend.tensors import read_tensor, write_tensor
from fvir.errors import UserError
from fvir.hw.config import CoreConfig
from fvir.ifp.package import Package, SegmentKind
from fvir.isa.encoding import decode, select, set_field
from fvir.isa.instr import Instruction
from fvir.isa.spec import NUM_SEGMENTS, Opcode

if TYPE_CHECKING:
    pass

# ---------------------------------------------------------------------------------------------
# One stream


def run_stream(words: np.ndarray, core: CoreConfig | CoreState, memory: Memory,
               mode: Mode | None = None) -> CoreState:
    """Execute one core's instruction stream in program order.

    `core` is a `CoreConfig` (a fresh core with zeroed buffers) or a `CoreState` to continue
    from (its buffers persist; its latched configurations too). `mode` defaults to the memory's
    and must match it. Returns the core's state after the stream. Raises `SimError`s located at
    the instruction (tenant and index), `DecodingError` for words that are not instructions.
    """
    mode = memory.mode if mode is None else check_mode(mode)
    if mode != memory.mode:
        raise ValueError(f"a {mode} run needs a {mode} memory, got a {memory.mode} one")
    state = core if isinstance(core, CoreState) else CoreState(core, mode)
    if state.mode != mode:
        raise ValueError(f"a {mode} run needs a {mode} core state, got a {state.mode} one")
    run_decoded(decode(words), state, memory)
    return state


def run_decoded(instrs: Sequence[Instruction], state: CoreState, memory: Memory) -> None:
    """`run_stream` on already decoded instructions (drivers that run many frames of one
    package decode its words once). `state` and `memory` must be in the same mode."""
    run_resolved(resolve(instrs), state, memory)


Resolved = tuple[Step | None, int, tuple[int, ...], tuple[int, ...], Instruction]
"""An instruction ready to run: its step (None for SYNC/END), its engine's index, the engines
it waits for and signals, and the instruction itself."""


def resolve(instrs: Sequence[Instruction]) -> list[Resolved]:
    """Every instruction's entry, found by its values in a cache shared by all streams (so
    what depends only on an instruction is worked out once per distinct instruction); drivers
    that run a package's frames many times resolve its instructions once. Masks that name the
    instruction's own engine give a step that raises when the instruction is reached, exactly
    where program order reaches it."""
    entries = _ENTRIES
    out = []
    for ins in instrs:
        fields = ins.fields
        entry = entries.get((ins.op, ins.dpdon, ins.dpdby, *fields.values()))
        if entry is None or entry[0] != tuple(fields):
            entry = _entry(ins)
        out.append((*entry[1], ins))
    return out


def run_resolved(entries: Sequence[Resolved], state: CoreState, memory: Memory) -> None:
    """Execute resolved instructions in program order (see the module docstring), checking
    the token protocol as it goes and at the end."""
    tokens = state.tokens
    tokens.reset()  # counters are zero when a stream starts
    count = tokens.count
    last = len(entries) - 1
    i = 0
    try:
        for i, (step, e, takes, gives, ins) in enumerate(entries):
            if step is not None:
                if takes:
                    for p in takes:
                        if not count[p][e]:
                            tokens.take(ins.op, ins.dpdon)  # raises: a token is missing
                    for p in takes:
                        count[p][e] -= 1
                step(state, memory)
                if gives:
                    row = count[e]
                    for q in gives:
                        row[q] += 1
            elif ins.op == Opcode.END:
                if i != last:
                    raise ProgramError(f"{last - i} instruction(s) after END", "END")
            elif ins["count"] > 1:  # SYNC
                raise ProgramError(
                    f"barrier {ins['barrier']} waits for {ins['count']} cores; a single-core "
                    f"run can never pass it", "SYNC")
    except SimError as e:
        raise e.locate(tenant=memory.tenant, index=i) from None
    if any(map(any, count)):
        try:
            tokens.check_empty()
        except SimError as e:
            raise e.locate(tenant=memory.tenant) from None


class _Dry:
    """What `run_resolved` reads of a core state and a memory when every step is a no-op."""

    def __init__(self) -> None:
        self.tokens = Tokens()
        self.tenant = ""


def protocol_error(entries: Sequence[Resolved]) -> SimError | None:
    """The error `run_resolved` raises on `entries` whatever the steps do: a missing or
    leftover token, a mask naming its own engine, code after END, a barrier a single core
    cannot pass; None when the stream's protocol is clean (it depends on the instructions
    only)."""
    dry = [(nothing if step is not None and e >= 0 else step, e, takes, gives, ins)
           for step, e, takes, gives, ins in entries]
    try:
        run_resolved(dry, _Dry(), _Dry())  # type: ignore[arg-type]  # duck-typed
    except SimError as error:
        return error
    return None


_Entry = tuple[tuple[str, ...], tuple[Step | None, int, tuple[int, ...], tuple[int, ...]]]
_ENTRIES: dict[tuple, _Entry] = {}
MAX_ENTRIES = 1 << 18


def _entry(ins: Instruction) -> _Entry:
    """An instruction's step (None for SYNC/END), its engine's index, and the engines it waits
    for and signals; masks that name its own engine give a step raising `DependencyError`."""
    op, fields, dpdon, dpdby = ins.op, ins.fields, ins.dpdon, ins.dpdby
    engine = ENGINE_OF[op]
    run: tuple[Step | None, int, tuple[int, ...], tuple[int, ...]]
    try:
        Tokens.check_masks(op, dpdon, dpdby)
    except DependencyError:
        def bad_masks(state: CoreState, memory: Memory) -> None:
            Tokens.check_masks(op, dpdon, dpdby)  # raises a fresh error every run

        run = (bad_masks, -1, (), ())
    else:
        if engine is None or op not in EXECUTE:
            run = (None, -1, (), ())
        else:
            run = (step_of(op, fields), int(engine),
                   tuple(p for p in range(4) if dpdon >> p & 1),
                   tuple(q for q in range(4) if dpdby >> q & 1))
    entry = (tuple(fields), run)
    if len(_ENTRIES) >= MAX_ENTRIES:
        _ENTRIES.clear()
    _ENTRIES[(op, dpdon, dpdby, *fields.values())] = entry
    return entry


# ---------------------------------------------------------------------------------------------
# A whole package on one core


def _identity_link(package: Package) -> np.ndarray:
    """The package's words with every relocated `seg` field set to its segment's index: the
    linker's job when base register i is bound to segment i."""
    if len(package.segments) > NUM_SEGMENTS:
        raise UserError(f"package '{package.name}' has {len(package.segments)} segments; "
                        f"a tenant has {NUM_SEGMENTS} base registers")
    words = np.array(package.words, dtype=np.uint32, copy=True).reshape(-1, 8)
    relocs = package.relocs
    missing = np.setdiff1d(select(words, Opcode.LOAD, Opcode.SAVE), relocs["instr"])
    if missing.size:
        raise UserError(f"package '{package.name}': LOAD/SAVE instruction {int(missing[0])} "
                        f"has no relocation")
    if relocs.size:
        set_field(words, (Opcode.LOAD, Opcode.SAVE), "seg", relocs["segment"].astype(np.int64),
                  rows=relocs["instr"].astype(np.intp))
    return words


def weights_blob(package: Package, mode: Mode) -> np.ndarray:
    """The contents of the package's WEIGHTS segment in `mode` (int8 bytes or the fp32
    shadow)."""
    if mode == "int8":
        return np.asarray(package.weights, np.uint8)
    if package.weights_f32 is None:
        raise UserError(f"package '{package.name}' has no float32 weights (weights_f32); "
                        f"fp32 mode needs them")
    return np.asarray(package.weights_f32, np.float32)


def run_package(package: Package, inputs: Sequence[np.ndarray], core: CoreConfig,
                mode: Mode = "int8", *, tenant: str = "tenant", poison: bool = True,
                host: HostInterpreter | None = None) -> list[np.ndarray]:
    """Run a package on one core of `core`'s kind; float32 inputs and outputs in the model's
    (NCHW) shapes, in ONNX order. `poison` fills the buffers with garbage before every frame;
    `host` runs the host layers (`fvir.backend.host`)."""
    mode = check_mode(mode)
    if package.core_hash != core.config_hash():
        raise UserError(f"package '{package.name}' was compiled for another core "
                        f"(hash {package.core_hash[:12]}, this core {core.config_hash()[:12]})")
    if len(inputs) != len(package.inputs):
        raise UserError(f"package '{package.name}' takes {len(package.inputs)} input(s), got "
                        f"{len(inputs)}")
    words = _identity_link(package)
    mem = Memory(mode, tenant)
    weight_segments = [i for i, s in enumerate(package.segments) if s.kind == SegmentKind.WEIGHTS]
    if len(weight_segments) > 1:
        raise UserError(f"package '{package.name}' has {len(weight_segments)} WEIGHTS segments; "
                        f"Package.weights fills one")
    for i, seg in enumerate(package.segments):
        if seg.kind != SegmentKind.WEIGHTS:
            mem.alloc(i, seg.size, seg.name)
            continue
        blob = weights_blob(package, mode)
        if blob.size > seg.size:
            raise UserError(f"package '{package.name}': {blob.size} bytes of weights for a "
                            f"{seg.size}-byte segment")
        region = np.zeros(seg.size, mem.dtype)
        region[: blob.size] = blob
        mem.bind(i, region, seg.name, writable=False)  # weights are read-only
    for t, x in zip(package.inputs, inputs, strict=True):
        write_tensor(mem, package.tensors[t], np.asarray(x, np.float32))

    state = CoreState(core, mode)
    for layer in package.layers:
        if layer.kind == "host":
            run_host_layer(layer, package, mem, host)
            continue
        for k in range(layer.frame_start, layer.frame_start + layer.frame_count):
            state.clear_configs()
            if poison:
                state.poison()
            frame = package.frames[k]
            start = int(frame["instr_start"])
            try:
                run_stream(words[start : start + int(frame["instr_count"])], state, mem)
            except SimError as e:
                raise e.locate(layer=layer.name, frame=k) from None
    return [read_tensor(mem, package.tensors[t]) for t in package.outputs]
