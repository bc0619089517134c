"""The meaning of every instruction, defined once (design decision 6).

One function per instruction type applies it to a core's state (`CoreState`: the fmap, weight
and bias buffers sized from `CoreConfig`, and the configurations the *INIT instructions latch)
and to the tenant's DDR (`fvir.backend.memory.Memory`). `EXECUTE` maps each opcode to its
function; `Tokens` is the dpdon/dpdby counter protocol. Drivers decide only *when* an
instruction runs: `fvir.backend.functional` runs a stream in program order, a cycle model can
call the same functions at the cycles it computes, and an xDSL interpreter can call them per
vcore op. SYNC and END belong to the drivers (they are dispatcher fences, not engine work).

Every function has the signature `fn(state, memory, fields)`, where `fields` is the
instruction's fields by name as plain Python ints (`Instruction.fields`, as `decode` builds it).
Decoding a whole stream that way costs about 2 us per instruction (vectorized per opcode
inside `decode`), while the numpy work of one instruction costs 2 us (a small LOAD) to
milliseconds (a large CONV), and plain ints make the per-instruction arithmetic (extents,
bounds) cheaper than numpy scalars from `columns` rows would. Faults raised here know only the
instruction type; drivers `locate` them (tenant, frame, index).

Steps (the fast path drivers use): `step_of(op, fields)` is the same instruction as a function
of (state, memory), with everything that depends only on its fields (extents, byte strides,
injectivity, the order of the checks; for CONV/ELEW, per latched configuration) worked out
once and cached by the fields' names and values, so a package's instructions are prepared on
their first run. `EXECUTE[op](state, memory, fields)` is `BUILD[op](fields)(state, memory)`:
one definition either way.

Each function is the pseudo-code of docs/isa.md, vectorized over numpy per instruction, never
element by element:

- LOAD/SAVE build strided views (`np.ndarray` over the buffer, no copies) of the 3-D block on
  both sides and copy once. The whole byte range is bounds-checked first (`MemoryFault` for DDR,
  `BufferFault` on chip), so a faulting instruction changes nothing.
- CONV is im2col (one [pixels x kernel_h*kernel_w*ic] matrix, one strided copy of the
  padded block) times the [K x oc] weights. int8 products are exact in float32 BLAS:
  |x*w| <= 2**14, so any partial sum of at most 1024 products is an integer of magnitude
  <= 2**24, which float32 represents exactly whatever order BLAS sums in. A longer reduction
  is one float32 product too when the data bound every partial sum by 2**24 (largest row sum
  of |A| times largest |w|); otherwise it is cut into chunks of 1024 terms whose exact
  results are added in int64 (`exact_matmul`). Depthwise is an elementwise multiply-accumulate
  over kernel offsets (at most 15*15 terms, exact in float32). MVM uses the same exact matmul.
  In int8 mode the float32 im2col matrices and weights are kept in small content-checked
  caches (`COL_CACHE`, `WGT_CACHE`): the frames of a layer sweep the same input rows once per
  group of output channels, and a frame's CONVs share their weights, so most CONVs find
  their operands after a byte comparison with the bytes they were built from.
- POOL reads windows through `sliding_window_view` of the padded block (-inf padding for MAX,
  zero padding for AVG); int8 MAX is a maximum over the kernel offsets in int16.
- Requantization (`rshift_round`, `sat8`, `activate`, `requant`) is defined in int64, as the
  pseudo-code's helpers say; CONV and ELEW run it in int32 (ELEW also int16) whenever no
  intermediate value can leave that range, which gives the same results.

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
- ELEW: a + b or a * b; `shift_a`, `shift_b`, `shift_out` are ignored.
- POOL AVG: the window sum divided by kernel_h * kernel_w (padding counts, as in int8 mode);
  `avg_mul`/`avg_shift` are ignored. MAX is unchanged.
- Fused activations have their real meaning (`activate_real`): RELU max(y, 0); RELU6
  min(max(y, 0), 6.0) (in int8 act_arg is the clamp in the output's fixed point, which fp32
  mode does not know, so the clamp is always 6.0: a clip to another bound cannot be checked
  in fp32 mode); LEAKY y if y >= 0 else y * act_arg / 256 (the slope as quantized).
- ACT applies the real function; `in_frac`/`out_frac` are ignored.
- LOAD/SAVE copy elements exactly like bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fvir.backend.faults import BufferFault, DependencyError, ProgramError
from fvir.backend.memory import Memory, Mode, check_mode, storage_dtype
from fvir.hw.config import CoreConfig
from fvir.isa.spec import SPECS, Act, ActFunc, Buf, ElewType, Engine, Opcode, PoolType

Fields = Mapping[str, int]
"""An instruction's fields by name (`Instruction.fields`: plain ints, the fastest to read)."""

EXACT_F32_TERMS = 1024
"""Largest number of int8 x int8 products a float32 sum holds exactly (1024 * 2**14 = 2**24)."""

EXACT_F32_LIMIT = 1 << 24
"""Every integer of magnitude at most 2**24 is a float32."""

BUF_NAMES = {Buf.FMAP: "fmap", Buf.WEIGHT: "weight", Buf.BIAS: "bias"}

ENGINE_OF: dict[Opcode, Engine | None] = {op: spec.engine for op, spec in SPECS.items()}
"""The engine that executes each instruction type (None: the dispatcher)."""


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
        self.conv_cfg: dict[str, int] | None = None
        self.pool_cfg: dict[str, int] | None = None
        self.elew_cfg: dict[str, int] | None = None
        self.tokens = Tokens()

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


# ---------------------------------------------------------------------------------------------
# Requantization helpers (docs/isa.md, Pseudo-code helpers), int64


def rshift_round(x: np.ndarray, s: int) -> np.ndarray:
    """(x + 2**(s-1)) >> s for s > 0 (arithmetic shift: round half up), x for s == 0."""
    if s <= 0:
        return x
    return (x + (1 << (s - 1))) >> s


def sat8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -128, 127)


def activate(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """The fused activation on int64 values in the output's fixed point."""
    if act == Act.NONE:
        return y
    if act == Act.RELU:
        return np.maximum(y, 0)
    if act == Act.RELU6:
        return np.minimum(np.maximum(y, 0), arg)
    if act == Act.LEAKY:
        return np.where(y >= 0, y, rshift_round(y * arg, 8))
    raise ProgramError(f"unknown activation {act}")


def requant(acc: np.ndarray, s: int, act: int, arg: int) -> np.ndarray:
    """int64 accumulator -> int8 output."""
    return sat8(activate(rshift_round(acc, s), act, arg)).astype(np.int8)


def activate_real(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """fp32 mode's meaning of a fused activation (see the module docstring)."""
    if act == Act.NONE:
        return y
    if act == Act.RELU:
        return np.maximum(y, np.float32(0))
    if act == Act.RELU6:
        return np.clip(y, np.float32(0), np.float32(6))
    if act == Act.LEAKY:
        return np.where(y >= 0, y, y * np.float32(arg / 256)).astype(np.float32)
    raise ProgramError(f"unknown activation {act}")


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for float32 matrices holding int8 values, exactly, as int64: float32 BLAS on
    chunks of at most EXACT_F32_TERMS terms of the reduction, chunks added in int64."""
    k = a.shape[1]
    if k <= EXACT_F32_TERMS:
        return (a @ b).astype(np.int64)
    out = np.zeros((a.shape[0], b.shape[1]), np.int64)
    for k0 in range(0, k, EXACT_F32_TERMS):
        out += (a[:, k0 : k0 + EXACT_F32_TERMS] @ b[k0 : k0 + EXACT_F32_TERMS]).astype(np.int64)
    return out


# ---------------------------------------------------------------------------------------------
# Strided blocks


Shape = tuple[int, ...]


def _end(start: int, shape: Shape, strides: Shape) -> int:
    """One past the highest element a non-empty block touches."""
    return start + sum((n - 1) * s for n, s in zip(shape, strides, strict=True)) + 1


def _check_buf(state: CoreState, op: str, access: str, buf: int, start: int, shape: Shape,
               strides: Shape) -> None:
    if 0 in shape:
        return
    end = _end(start, shape, strides)
    size = state.raw[buf].size
    if end > size:
        raise BufferFault(op, access, BUF_NAMES[Buf(buf)], start, end, size)


def _view(arr: np.ndarray, start: int, shape: Shape, strides: Shape) -> np.ndarray:
    """A strided view of the 1-D contiguous `arr` (element strides; bounds already checked)."""
    item = arr.itemsize
    return np.ndarray(shape, arr.dtype, buffer=arr, offset=start * item,
                      strides=tuple(s * item for s in strides))


def _injective(shape: Shape, strides: Shape) -> bool:
    """Whether no two elements of the block share an address (sufficient test: each stride,
    in increasing order, exceeds the reach of the smaller ones)."""
    reach = 0
    for s, n in sorted((s, n) for n, s in zip(shape, strides, strict=True) if n > 1):
        if s <= reach:
            return False
        reach += (n - 1) * s
    return True


def _store(arr: np.ndarray, start: int, shape: Shape, strides: Shape, values: np.ndarray) -> None:
    """Write `values` into the block; where the block overlaps itself, the last write in loop
    (C) order wins, as in the sequential pseudo-code."""
    if 0 in shape:
        return
    if _injective(shape, strides):
        _view(arr, start, shape, strides)[...] = values
        return
    axes = np.ix_(*(np.arange(n) * s for n, s in zip(shape, strides, strict=True)))
    flat = (start + sum(axes)).ravel()[::-1]  # addresses in loop order, reversed
    vals = np.broadcast_to(values, shape).ravel()[::-1]
    where, first = np.unique(flat, return_index=True)  # first in reverse = last written
    arr[where] = vals[first]


def _read_bias(state: CoreState, op: str, addr: int, n: int) -> np.ndarray:
    """BIAS32[addr + 4*o] for o < n: int64 in int8 mode, the float biases in fp32 mode."""
    _check_buf(state, op, "reads", Buf.BIAS, addr, (4 * n,), (1,))
    if state.mode == "int8":
        return state.bias[addr : addr + 4 * n].view("<i4").astype(np.int64)
    return state.bias[addr : addr + 4 * n : 4]


def _write_out(state: CoreState, start: int, shape: Shape, strides: Shape, acc: np.ndarray,
               shift: int, act: int, arg: int) -> None:
    """Requantize (int8) or activate (fp32) the accumulators and store them in the fmap."""
    if state.mode == "int8":
        out = requant(acc, shift, act, arg)
    else:
        out = activate_real(acc.astype(np.float32, copy=False), act, arg)
    _store(state.fmap, start, shape, strides, out.reshape(shape))


# ---------------------------------------------------------------------------------------------
# Steps
#
# A driver executes an instruction through its *step*: a function of (state, memory) that
# `step_of` builds once from the instruction's fields and caches by their values, so that the
# per-instruction arithmetic (extents, strides in bytes, injectivity, the order of the checks)
# is done once per distinct instruction rather than once per execution. A step reads and
# writes nothing but the state and memory it is given, and raises exactly what the
# pseudo-code's checks raise, in the same order, before changing anything.


Step = Callable[[CoreState, Memory], None]


def _nothing(state: CoreState, mem: Memory) -> None:
    return None


def _byte_strides(strides: Shape) -> dict[int, Shape]:
    """Element strides in bytes for both storage dtypes (uint8: 1 byte, float32: 4)."""
    return {1: strides, 4: tuple(4 * s for s in strides)}


def _collapse(shape: Shape, *strides: Shape) -> tuple[Shape, tuple[Shape, ...]]:
    """Merge adjacent axes that every one of `strides` walks contiguously (the same addresses
    in the same order, so a copy over fewer axes)."""
    dims = [[n, *(s[i] for s in strides)] for i, n in enumerate(shape)]
    out = [dims[-1]]
    for d in reversed(dims[:-1]):
        inner = out[-1]
        if all(d[j] == inner[0] * inner[j] for j in range(1, len(d))):
            inner[0] *= d[0]
        else:
            out.append(d)
    out.reverse()
    return (tuple(d[0] for d in out),
            tuple(tuple(d[j] for d in out) for j in range(1, len(strides) + 1)))


# ---------------------------------------------------------------------------------------------
# LOAD / SAVE


def _dma_geometry(f: Fields) -> tuple[Shape, Shape, Shape]:
    shape = (f["rows"], f["cols"], f["chans"])
    ddr = (f["ddr_row_stride"], f["ddr_pix_stride"], 1)
    buf = (f["buf_row_stride"], f["buf_pix_stride"], 1)
    return shape, ddr, buf


def _dma_step(f: Fields, is_load: bool) -> Step:
    shape, ddr, bufs = _dma_geometry(f)
    if 0 in shape:
        return _nothing
    off, addr, buf, seg = f["off"], f["addr"], f["buf"], f["seg"]
    op = "LOAD" if is_load else "SAVE"
    ddr_end = _end(off, shape, ddr)
    buf_end = _end(addr, shape, bufs)
    injective = _injective(shape, bufs if is_load else ddr)
    cshape, (cddr, cbuf) = _collapse(shape, ddr, bufs)
    ddr_b, buf_b = _byte_strides(cddr), _byte_strides(cbuf)

    def dma(state: CoreState, mem: Memory) -> None:
        raw = state.raw[buf]
        if is_load:
            seg_arr = mem.access(op, "reads", seg, off, ddr_end)
            if buf_end > raw.size:
                _check_buf(state, op, "writes", buf, addr, shape, bufs)
        else:
            if buf_end > raw.size:
                _check_buf(state, op, "reads", buf, addr, shape, bufs)
            seg_arr = mem.access(op, "writes", seg, off, ddr_end)
        if not injective:
            if is_load:
                _store(raw, addr, shape, bufs, _view(seg_arr, off, shape, ddr))
            else:
                _store(seg_arr, off, shape, ddr, _view(raw, addr, shape, bufs))
            return
        item = raw.itemsize
        on_chip = np.ndarray(cshape, raw.dtype, raw, addr * item, buf_b[item])
        in_ddr = np.ndarray(cshape, seg_arr.dtype, seg_arr, off * item, ddr_b[item])
        if is_load:
            on_chip[...] = in_ddr
        else:
            in_ddr[...] = on_chip

    return dma


def load(state: CoreState, mem: Memory, f: Fields) -> None:
    """LOAD: DDR block -> buffer."""
    _dma_step(f, True)(state, mem)


def save(state: CoreState, mem: Memory, f: Fields) -> None:
    """SAVE: buffer block -> DDR."""
    _dma_step(f, False)(state, mem)


# ---------------------------------------------------------------------------------------------
# CONV


CONV_INIT_POSITIVE = ("kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h", "dilation_w")


def _positive(op: str, f: Fields, names: tuple[str, ...]) -> None:
    for name in names:
        if f[name] < 1:
            raise ProgramError(f"{name} = {f[name]}: must be at least 1", op)


def _convinit_step(f: Fields) -> Step:
    cfg = dict(f)
    valid = all(cfg[name] >= 1 for name in CONV_INIT_POSITIVE)

    def convinit_(state: CoreState, mem: Memory) -> None:
        if not valid:
            _positive("CONVINIT", cfg, CONV_INIT_POSITIVE)
        state.conv_cfg = dict(cfg)

    return convinit_


def convinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONVINIT: latch the conv engine's configuration."""
    _convinit_step(f)(state, mem)


def _padded(x: np.ndarray, pads: tuple[int, int, int, int], fill: float,
            dtype: type) -> np.ndarray:
    """P: the block X with pad_t/pad_l/pad_b/pad_r rows and columns of `fill` around it."""
    pt, pl, pb, pr = pads
    p = np.full((x.shape[0] + pt + pb, x.shape[1] + pl + pr, x.shape[2]), fill, dtype)
    p[pt : pt + x.shape[0], pl : pl + x.shape[1]] = x
    return p


def _pads(f: Fields) -> tuple[int, int, int, int]:
    return f["pad_t"], f["pad_l"], f["pad_b"], f["pad_r"]


def _window(op: str, state: CoreState, f: Fields, in_rows: int, in_cols: int, chans: int,
            cfg: Fields) -> np.ndarray:
    """The input block X (a view of the fmap), bounds-checked."""
    _window_shape(op, f, in_rows, in_cols)
    shape = (in_rows, in_cols, chans)
    strides = (cfg["in_row_stride"], cfg["in_pix_stride"], 1)
    _check_buf(state, op, "reads", Buf.FMAP, f["in_addr"], shape, strides)
    if 0 in shape:
        return np.zeros(shape, state.fmap.dtype)
    return _view(state.fmap, f["in_addr"], shape, strides)


def _window_shape(op: str, f: Fields, in_rows: int, in_cols: int) -> None:
    if in_rows < 0 or in_cols < 0:
        raise ProgramError(
            f"padding ({f['pad_t']}, {f['pad_l']}, {f['pad_b']}, {f['pad_r']}) exceeds the "
            f"input window of the {f['rows']} x {f['cols']} output block", op)


class _ContentCache:
    """Recent float32 operands of CONV (int8 mode) by geometry, each with the bytes it was
    built from and one number derived from it: im2col matrices (with their largest row sum of
    |A|), so that frames sweeping the same input rows for another group of output channels
    find their matrix after a byte comparison; and converted weights (with their largest
    |w|), which every CONV of a frame shares. Content-checked, so a hit is always what the
    current bytes give."""

    def __init__(self, budget: int) -> None:
        self.budget = budget  # bytes of arrays kept
        self.entries: OrderedDict[int, tuple[bytes, np.ndarray, float]] = OrderedDict()
        self.nbytes = 0
        self.keys: dict[tuple[int, ...], int] = {}
        self.ids = itertools.count()  # never reused, so a forgotten key cannot alias

    def key(self, geometry: tuple[int, ...]) -> int:
        k = self.keys.get(geometry)
        if k is None:
            if len(self.keys) > 1 << 16:
                self.keys.clear()
            k = self.keys[geometry] = next(self.ids)
        return k

    def get(self, key: int, data: bytes) -> tuple[np.ndarray, float] | None:
        hit = self.entries.get(key)
        if hit is None or hit[0] != data:
            return None
        with contextlib.suppress(KeyError):  # only if another thread dropped it meanwhile
            self.entries.move_to_end(key)
        return hit[1], hit[2]

    def put(self, key: int, data: bytes, a: np.ndarray, number: float) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.nbytes -= old[1].nbytes
        if a.nbytes > self.budget // 4:
            return
        self.entries[key] = (data, a, number)
        self.nbytes += a.nbytes
        while self.nbytes > self.budget:
            _, (_, dropped, _) = self.entries.popitem(last=False)
            self.nbytes -= dropped.nbytes

    def clear(self) -> None:
        self.entries.clear()
        self.keys.clear()
        self.nbytes = 0


COL_CACHE = _ContentCache(48 << 20)
WGT_CACHE = _ContentCache(16 << 20)


class _ConvPlan:
    """One CONV under one latched CONVINIT: every extent, stride and check, computed once."""

    __slots__ = ("a_shape", "acc_bound", "act", "act_arg", "b_end", "bias_addr", "cache_key", "cfg",
                 "col_off", "col_shape", "col_strides", "cols", "depthwise", "dh", "dw", "f", "ic",
                 "in_addr", "in_cols", "in_rows", "inj", "k", "kh", "kw", "m", "n_wgt", "o_end",
                 "oc", "out_addr", "out_bytes", "out_shape", "out_strides", "p_shape", "padded",
                 "pads", "rows", "sh", "shift_bias", "shift_cut", "sw", "w_end", "wgt_key",
                 "x_bytes", "x_end", "x_shape", "x_strides")

    def __init__(self, f: Fields, c: Fields) -> None:
        self.f, self.cfg = f, c
        rows, cols, ic, oc = f["rows"], f["cols"], f["ic"], f["oc"]
        kh, kw, sh, sw = c["kernel_h"], c["kernel_w"], c["stride_h"], c["stride_w"]
        dh, dw = c["dilation_h"], c["dilation_w"]
        self.rows, self.cols, self.ic, self.oc = rows, cols, ic, oc
        self.kh, self.kw, self.sh, self.sw, self.dh, self.dw = kh, kw, sh, sw, dh, dw
        self.depthwise = bool(f["depthwise"])
        pads = self.pads = _pads(f)
        in_rows = (rows - 1) * sh + (kh - 1) * dh + 1 - pads[0] - pads[2]
        in_cols = (cols - 1) * sw + (kw - 1) * dw + 1 - pads[1] - pads[3]
        _window_shape("CONV", f, in_rows, in_cols)
        self.in_rows, self.in_cols = in_rows, in_cols
        self.in_addr = f["in_addr"]
        self.x_shape = (in_rows, in_cols, ic)
        self.x_strides = (c["in_row_stride"], c["in_pix_stride"], 1)
        empty_x = 0 in self.x_shape
        self.x_end = -1 if empty_x else _end(self.in_addr, self.x_shape, self.x_strides)
        self.n_wgt = kh * kw * oc if self.depthwise else oc * kh * kw * ic
        wgt_addr = f["wgt_addr"]
        self.w_end = wgt_addr + self.n_wgt if self.n_wgt else -1
        self.bias_addr = f["bias_addr"]
        self.b_end = self.bias_addr + 4 * oc
        self.out_addr = f["out_addr"]
        self.out_shape = (rows, cols, oc)
        self.out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
        self.o_end = _end(self.out_addr, self.out_shape, self.out_strides)
        self.inj = _injective(self.out_shape, self.out_strides)
        self.x_bytes = _byte_strides(self.x_strides)
        self.out_bytes = _byte_strides(self.out_strides)
        self.shift_bias, self.shift_cut = c["shift_bias"], c["shift_cut"]
        self.act, self.act_arg = c["act"], c["act_arg"]
        self.m, self.k = rows * cols, kh * kw * ic
        # im2col as one strided view [rows, cols, kh, kw, ic] of P (the padded block, a fresh
        # contiguous array) or, without padding, of the fmap itself; strides in elements.
        self.padded = any(pads) or empty_x
        self.p_shape = (in_rows + pads[0] + pads[2], in_cols + pads[1] + pads[3], ic)
        self.col_shape = (rows, cols, kh, kw, ic)
        if self.padded:
            r, p = self.p_shape[1] * ic, ic
            self.col_off = 0
        else:
            r, p = self.x_strides[0], self.x_strides[1]
            self.col_off = self.in_addr
        self.col_strides = _byte_strides((r * sh, p * sw, r * dh, p * dw, 1))
        cacheable = not self.depthwise and (kh * kw > 1 or self.k > EXACT_F32_TERMS)
        self.cache_key = COL_CACHE.key((self.in_addr, *self.x_shape, *self.x_strides, *pads,
                                        kh, kw, sh, sw, dh, dw, rows, cols)) if cacheable else -1
        self.a_shape = (self.m, self.k)
        self.wgt_key = WGT_CACHE.key((wgt_addr, oc, self.k))
        # |acc| <= this (|x * w| <= 2**14 per term)
        self.acc_bound = (kh * kw if self.depthwise else self.k) << 14

    def check(self, state: CoreState) -> None:
        """The bounds checks of the pseudo-code, in its order (input, weights, bias, output)."""
        fsize = state.raw[Buf.FMAP].size
        if self.x_end > fsize:
            _check_buf(state, "CONV", "reads", Buf.FMAP, self.in_addr, self.x_shape,
                       self.x_strides)
        if self.w_end > state.raw[Buf.WEIGHT].size:
            _check_buf(state, "CONV", "reads", Buf.WEIGHT, self.f["wgt_addr"], (self.n_wgt,),
                       (1,))
        if self.b_end > state.raw[Buf.BIAS].size:
            _check_buf(state, "CONV", "reads", Buf.BIAS, self.bias_addr, (4 * self.oc,), (1,))
        if self.o_end > fsize:
            _check_buf(state, "CONV", "writes", Buf.FMAP, self.out_addr, self.out_shape,
                       self.out_strides)

    def x(self, state: CoreState) -> np.ndarray | None:
        """The input block X, a view of the fmap (None when empty)."""
        if self.x_end < 0:
            return None
        fm = state.fmap
        item = fm.itemsize
        return np.ndarray(self.x_shape, fm.dtype, fm, self.in_addr * item, self.x_bytes[item])

    def im2col(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """[rows*cols, kh*kw*ic] float32, K ordered (ky, kx, i) like the weights."""
        fm = state.fmap
        if self.padded:
            pt, pl = self.pads[0], self.pads[1]
            base = np.zeros(self.p_shape, fm.dtype)
            if x is not None:
                base[pt : pt + self.in_rows, pl : pl + self.in_cols] = x
        else:
            base = fm
        item = fm.itemsize
        cols = np.ndarray(self.col_shape, fm.dtype, base, self.col_off * item,
                          self.col_strides[item])
        return cols.astype(np.float32, order="C").reshape(self.a_shape)

    def depthwise_acc(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """Depthwise: float32 multiply-accumulate over kernel offsets, [rows*cols, oc]."""
        rows, cols, oc, kh, kw = self.rows, self.cols, self.oc, self.kh, self.kw
        sh, sw, dh, dw = self.sh, self.sw, self.dh, self.dw
        xx = np.zeros(self.x_shape, state.fmap.dtype) if x is None else x
        p = _padded(xx, self.pads, 0.0, np.float32)
        wa = self.f["wgt_addr"]
        wd = state.weight[wa : wa + self.n_wgt].reshape(kh, kw, oc).astype(np.float32)
        acc32 = np.zeros(self.out_shape, np.float32)
        for ky in range(kh):
            for kx in range(kw):
                acc32 += p[ky * dh : ky * dh + (rows - 1) * sh + 1 : sh,
                           kx * dw : kx * dw + (cols - 1) * sw + 1 : sw] * wd[ky, kx]
        return acc32.reshape(rows * cols, oc)

    def run(self, state: CoreState) -> None:
        self.check(state)
        x = self.x(state)
        if state.mode == "int8":
            if self.depthwise:
                acc = self.depthwise_acc(state, x)  # exact integers in float32
            else:
                acc = self.matmul_int8(state, x)  # exact: float32 integers, or int64
            term64, term32 = _bias_term(state.bias[self.bias_addr : self.b_end],
                                        self.shift_bias, self.shift_cut, self.acc_bound)
            out = _requant_acc(acc, term64, term32, self.shift_cut, self.act, self.act_arg)
        else:
            if self.depthwise:
                acc = self.depthwise_acc(state, x)
            else:
                wa = self.f["wgt_addr"]
                wm = state.weight[wa : wa + self.n_wgt].reshape(self.oc, self.k).T.astype(
                    np.float32)
                acc = self.im2col(state, x) @ wm
            acc = acc + state.bias[self.bias_addr : self.b_end : 4]
            out = activate_real(acc.astype(np.float32, copy=False), self.act, self.act_arg)
        fm = state.fmap
        if self.inj:
            item = fm.itemsize
            np.ndarray(self.out_shape, fm.dtype, fm, self.out_addr * item,
                       self.out_bytes[item])[...] = out.reshape(self.out_shape)
        else:
            _store(fm, self.out_addr, self.out_shape, self.out_strides,
                   out.reshape(self.out_shape))

    def matmul_int8(self, state: CoreState, x: np.ndarray | None) -> np.ndarray:
        """The exact [rows*cols, oc] products of the im2col matrix and the weights: float32
        (holding integers) when one float32 product is exact, else int64."""
        k = self.k
        key = self.cache_key
        if key >= 0:
            data = b"" if x is None else x.tobytes()
            hit = COL_CACHE.get(key, data)
            if hit is None:
                a = self.im2col(state, x)
                row_sum = _max_row_sum(a) if k > EXACT_F32_TERMS else 0.0
                COL_CACHE.put(key, data, a, row_sum)
            else:
                a, row_sum = hit
        else:
            a = self.im2col(state, x)
            row_sum = _max_row_sum(a) if k > EXACT_F32_TERMS else 0.0
        wa = self.f["wgt_addr"]
        wbytes = state.weight[wa : wa + self.n_wgt].tobytes()
        hit = WGT_CACHE.get(self.wgt_key, wbytes)
        if hit is None:
            w = np.frombuffer(wbytes, np.int8).reshape(self.oc, k).astype(np.float32)
            w_max = max(float(w.max()), -float(w.min())) if w.size else 0.0
            WGT_CACHE.put(self.wgt_key, wbytes, w, w_max)
        else:
            w, w_max = hit
        # One float32 product is exact when every partial sum is an integer of magnitude at
        # most 2**24: bounded by (largest row sum of |A|) * (largest |w|). The weights stay
        # [oc, K] (BLAS reads the transpose in place; a transposed copy costs more).
        if k <= EXACT_F32_TERMS or row_sum * w_max <= EXACT_F32_LIMIT:
            return a @ w.T
        return exact_matmul(a, w.T)


def _max_row_sum(a: np.ndarray) -> float:
    """max over rows of sum |a| for a float32 matrix of int8 values: exact in float32 BLAS
    while K * 128 <= 2**24 (it is only needed, and only used, for K up to that)."""
    if a.shape[1] * 128 > EXACT_F32_LIMIT:
        return float(np.abs(a).astype(np.float64).sum(axis=1).max())
    return float((np.abs(a) @ np.ones(a.shape[1], np.float32)).max())


_TERMS: dict[tuple[bytes, int, int, int], tuple[np.ndarray, np.ndarray | None]] = {}


def _bias_term(raw: np.ndarray, shift_bias: int, s: int,
               acc_bound: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(BIAS32 << shift_bias) plus rshift_round's rounding 2**(s-1), int64, from the bias
    buffer's bytes `raw`; and the same as int32 when |acc| <= acc_bound plus it cannot leave
    int32's range (then the requantization runs in int32 with the same results)."""
    key = (raw.tobytes(), shift_bias, s, acc_bound)
    hit = _TERMS.get(key)
    if hit is None:
        term = raw.view("<i4").astype(np.int64) << shift_bias
        if s > 0:
            term += 1 << (s - 1)
        fits = term.size == 0 or acc_bound + max(int(term.max()), -int(term.min())) < 1 << 31
        hit = (term, term.astype(np.int32) if fits else None)
        if len(_TERMS) >= 4096:
            _TERMS.clear()
        _TERMS[key] = hit
    return hit


def _requant_acc(acc: np.ndarray, term64: np.ndarray, term32: np.ndarray | None, s: int,
                 act: int, arg: int) -> np.ndarray:
    """requant(acc + term - rounding, s, act, arg) for exact accumulators `acc` (float32 holding
    integers of magnitude at most the bound `term32` was checked with, or int64)."""
    if term32 is not None and acc.dtype == np.float32:
        y = acc.astype(np.int32)
        y += term32
    else:
        y = acc.astype(np.int64)
        y += term64
    if s > 0:
        y >>= s
    return _act_sat8(y, act, arg)


def _act_sat8(y: np.ndarray, act: int, arg: int) -> np.ndarray:
    """int8(sat8(activate(y))) for an int32 or int64 array `y` that may be overwritten."""
    if act == Act.NONE:
        np.maximum(y, -128, out=y)
    elif act == Act.RELU:
        np.maximum(y, 0, out=y)
    elif act == Act.RELU6:
        np.maximum(y, 0, out=y)
        np.minimum(y, arg, out=y)
        np.maximum(y, -128, out=y)
    else:
        y = activate(y.astype(np.int64), act, arg)
        np.maximum(y, -128, out=y)
    np.minimum(y, 127, out=y)
    return y.astype(np.int8)


def _plan(plans: dict[tuple, Any], cfg: Fields, build: Callable[[dict[str, int]], Any]) -> Any:
    """The plan of an instruction under the latched configuration `cfg` (a CONV or ELEW is
    prepared per configuration; a handful of them per instruction at most)."""
    key = tuple(cfg.items())
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= 16:
            plans.clear()
        plan = plans[key] = build(dict(cfg))
    return plan


def _configured_step(op: str, latched: Callable[[CoreState], Fields | None], empty: bool,
                     build: Callable[[Fields], Any], problem: str | None = None) -> Step:
    """The step of a CONV or ELEW: it runs under the configuration its INIT latched (`latched`
    reads it from the core), through the plan `build` makes per configuration; `problem`: an
    error in the instruction itself, raised once a configuration is there."""
    plans: dict[tuple, Any] = {}

    def step(state: CoreState, mem: Memory) -> None:
        cfg = latched(state)
        if cfg is None:
            raise ProgramError(f"no {op}INIT before it (a frame must issue its own)", op)
        if problem is not None:
            raise ProgramError(problem, op)
        if empty:
            return
        _plan(plans, cfg, build).run(state)

    return step


def _conv_step(f: Fields) -> Step:
    f = dict(f)
    rows, cols, ic, oc = f["rows"], f["cols"], f["ic"], f["oc"]
    problem = (f"depthwise needs ic == oc, got ic = {ic}, oc = {oc}"
               if f["depthwise"] and ic != oc else None)
    return _configured_step("CONV", lambda s: s.conv_cfg, rows == 0 or cols == 0 or oc == 0,
                            lambda cfg: _ConvPlan(f, cfg), problem)


def conv(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONV: one output block with the latched CONVINIT configuration."""
    _conv_step(f)(state, mem)


# ---------------------------------------------------------------------------------------------
# POOL


def poolinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """POOLINIT: latch the pooling configuration."""
    _positive("POOLINIT", f, ("kernel_h", "kernel_w", "stride_h", "stride_w"))
    state.pool_cfg = dict(f)


_NO_VALUE = -(1 << 15)  # max-pool padding in int8 mode: below every int8


def pool(state: CoreState, mem: Memory, f: Fields) -> None:
    """POOL: one output block with the latched POOLINIT configuration."""
    c = state.pool_cfg
    if c is None:
        raise ProgramError("no POOLINIT before it (a frame must issue its own)", "POOL")
    rows, cols, chans = f["rows"], f["cols"], f["chans"]
    if rows == 0 or cols == 0 or chans == 0:
        return
    kh, kw, sh, sw = c["kernel_h"], c["kernel_w"], c["stride_h"], c["stride_w"]
    pads = _pads(f)
    in_rows = (rows - 1) * sh + kh - pads[0] - pads[2]
    in_cols = (cols - 1) * sw + kw - pads[1] - pads[3]
    x = _window("POOL", state, f, in_rows, in_cols, chans, c)
    out_shape = (rows, cols, chans)
    out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
    _check_buf(state, "POOL", "writes", Buf.FMAP, f["out_addr"], out_shape, out_strides)

    is_max = c["pool_type"] == PoolType.MAX
    if is_max and state.mode == "int8":
        # int16 with a fill below every int8, one maximum per kernel offset.
        p = _padded(x, pads, _NO_VALUE, np.int16)
        acc = None
        for ky in range(kh):
            for kx in range(kw):
                tap = p[ky : ky + (rows - 1) * sh + 1 : sh, kx : kx + (cols - 1) * sw + 1 : sw]
                acc = tap.copy() if acc is None else np.maximum(acc, tap, out=acc)
        assert acc is not None  # kh, kw >= 1 (POOLINIT checks)
        if (acc == _NO_VALUE).any():
            raise ProgramError("a max-pool window lies entirely in the padding", "POOL")
        _store(state.fmap, f["out_addr"], out_shape, out_strides, acc.astype(np.int8))
        return
    # int8 sums in float64 are exact (255 * 255 * 128 < 2**53); fp32 mode computes in float32.
    dtype = np.float64 if state.mode == "int8" else np.float32
    p = _padded(x, pads, -np.inf if is_max else 0.0, dtype)
    windows = sliding_window_view(p, (kh, kw), axis=(0, 1))[
        : (rows - 1) * sh + 1 : sh, : (cols - 1) * sw + 1 : sw]  # [rows, cols, chans, kh, kw]
    if is_max:
        out = windows.max(axis=(3, 4))
        if np.isneginf(out).any():
            raise ProgramError("a max-pool window lies entirely in the padding", "POOL")
        if state.mode == "int8":
            out = out.astype(np.int8)
    elif state.mode == "int8":
        total = windows.sum(axis=(3, 4)).astype(np.int64)
        out = sat8(rshift_round(total * c["avg_mul"], c["avg_shift"])).astype(np.int8)
    else:
        out = windows.sum(axis=(3, 4)) / np.float32(kh * kw)
    _store(state.fmap, f["out_addr"], out_shape, out_strides, out)


# ---------------------------------------------------------------------------------------------
# ELEW


def elewinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """ELEWINIT: latch the element-wise unit's configuration."""
    state.elew_cfg = dict(f)


class _ElewPlan:
    """One ELEW under one latched ELEWINIT. int8 mode computes in the narrowest of int16,
    int32 and int64 that no intermediate of the int64 pseudo-code can leave (so the results
    are the same)."""

    __slots__ = ("a_addr", "act", "act_arg", "add", "b_addr", "dtype", "ends", "in_strides", "inj",
                 "out_addr", "out_strides", "shape", "shift_a", "shift_b", "shift_out")

    def __init__(self, f: Fields, c: Fields) -> None:
        self.shape = (f["rows"], f["cols"], f["chans"])
        self.in_strides = (c["in_row_stride"], c["in_pix_stride"], 1)
        self.out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
        self.a_addr, self.b_addr, self.out_addr = f["in_a"], f["in_b"], f["out_addr"]
        self.ends = (_end(self.a_addr, self.shape, self.in_strides),
                     _end(self.b_addr, self.shape, self.in_strides),
                     _end(self.out_addr, self.shape, self.out_strides))
        self.inj = _injective(self.shape, self.out_strides)
        self.add = c["elew_type"] == ElewType.ADD
        self.shift_a, self.shift_b, self.shift_out = c["shift_a"], c["shift_b"], c["shift_out"]
        self.act, self.act_arg = c["act"], c["act_arg"]
        a, b = 128 << self.shift_a, 128 << self.shift_b
        bound = (a + b if self.add else a * b) + (1 << self.shift_out) + 256
        bound *= max(1, abs(self.act_arg))
        self.dtype = np.int16 if bound < 1 << 15 else np.int32 if bound < 1 << 31 else np.int64

    def run(self, state: CoreState) -> None:
        fm = state.fmap
        size = fm.size
        shape, ins, outs = self.shape, self.in_strides, self.out_strides
        if self.ends[0] > size:
            _check_buf(state, "ELEW", "reads", Buf.FMAP, self.a_addr, shape, ins)
        if self.ends[1] > size:
            _check_buf(state, "ELEW", "reads", Buf.FMAP, self.b_addr, shape, ins)
        if self.ends[2] > size:
            _check_buf(state, "ELEW", "writes", Buf.FMAP, self.out_addr, shape, outs)
        a = _view(fm, self.a_addr, shape, ins)
        b = _view(fm, self.b_addr, shape, ins)
        if state.mode == "int8":
            acc = a.astype(self.dtype)
            if self.shift_a:
                acc <<= self.shift_a
            b2 = b.astype(self.dtype)
            if self.shift_b:
                b2 <<= self.shift_b
            if self.add:
                acc += b2
            else:
                acc *= b2
            s = self.shift_out
            if s > 0:
                acc += 1 << (s - 1)
                acc >>= s
            out = _act_sat8(acc, self.act, self.act_arg)
        else:
            acc = a + b if self.add else a * b
            out = activate_real(acc.astype(np.float32, copy=False), self.act, self.act_arg)
        if self.inj:
            _view(fm, self.out_addr, shape, outs)[...] = out
        else:
            _store(fm, self.out_addr, shape, outs, out)


def _elew_step(f: Fields) -> Step:
    f = dict(f)
    return _configured_step("ELEW", lambda s: s.elew_cfg,
                            0 in (f["rows"], f["cols"], f["chans"]),
                            lambda cfg: _ElewPlan(f, cfg))


def elew(state: CoreState, mem: Memory, f: Fields) -> None:
    """ELEW: a (+ or *) b over one block, requantized."""
    _elew_step(f)(state, mem)


# ---------------------------------------------------------------------------------------------
# MVM


def mvm(state: CoreState, mem: Memory, f: Fields) -> None:
    """MVM: y = W x + b for a rows x cols int8 matrix."""
    rows, cols = f["rows"], f["cols"]
    if rows == 0:
        return
    wgt_addr, vec_addr = f["wgt_addr"], f["vec_addr"]
    _check_buf(state, "MVM", "reads", Buf.WEIGHT, wgt_addr, (rows * cols,), (1,))
    _check_buf(state, "MVM", "reads", Buf.FMAP, vec_addr, (cols,), (1,))
    bias = _read_bias(state, "MVM", f["bias_addr"], rows)
    _check_buf(state, "MVM", "writes", Buf.FMAP, f["out_addr"], (rows,), (1,))
    w = state.weight[wgt_addr : wgt_addr + rows * cols].reshape(rows, cols)
    x = state.fmap[vec_addr : vec_addr + cols]
    if state.mode == "int8":
        acc = exact_matmul(x.astype(np.float32)[None, :], w.T.astype(np.float32))[0]
        acc = acc + (bias << f["shift_bias"])
    else:
        acc = w @ x + bias
    _write_out(state, f["out_addr"], (rows,), (1,), acc, f["shift_cut"], f["act"], f["act_arg"])


# ---------------------------------------------------------------------------------------------
# ACT


def _real_function(func: int) -> Callable[[np.ndarray], np.ndarray]:
    if func == ActFunc.IDENTITY:
        return lambda v: v
    if func == ActFunc.RELU:
        return lambda v: np.maximum(v, 0)
    if func == ActFunc.SIGMOID:
        def sigmoid(v: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):  # exp(-v) -> inf gives the right limit 0
                return 1 / (1 + np.exp(-v))
        return sigmoid
    if func == ActFunc.TANH:
        return np.tanh
    raise ProgramError(f"unknown function {func}", "ACT")


@lru_cache(maxsize=256)
def act_table(func: int, in_frac: int, out_frac: int) -> np.ndarray:
    """ACT's lookup table indexed by the input's byte (uint8 view of q): int8 outputs."""
    q = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.float64)
    y = _real_function(func)(q * math.ldexp(1.0, -in_frac))
    table = sat8(np.floor(y * math.ldexp(1.0, out_frac) + 0.5)).astype(np.int8)
    table.flags.writeable = False
    return table


def act(state: CoreState, mem: Memory, f: Fields) -> None:
    """ACT: a function through a 256-entry table (fp32 mode: the function itself)."""
    n, in_addr, out_addr = f["length"], f["in_addr"], f["out_addr"]
    if n == 0:
        return
    _check_buf(state, "ACT", "reads", Buf.FMAP, in_addr, (n,), (1,))
    _check_buf(state, "ACT", "writes", Buf.FMAP, out_addr, (n,), (1,))
    if state.mode == "int8":
        table = act_table(f["func"], f["in_frac"], f["out_frac"])
        state.fmap[out_addr : out_addr + n] = table[state.raw[Buf.FMAP][in_addr : in_addr + n]]
    else:
        x = state.fmap[in_addr : in_addr + n]
        state.fmap[out_addr : out_addr + n] = _real_function(f["func"])(x).astype(np.float32)




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
}
"""The function of every engine instruction (SYNC and END are the dispatcher's)."""


def _bound(fn: Semantics) -> Callable[[Fields], Step]:
    def build(f: Fields) -> Step:
        fields = dict(f)
        return lambda state, mem: fn(state, mem, fields)
    return build


BUILD: dict[Opcode, Callable[[Fields], Step]] = {
    Opcode.LOAD: lambda f: _dma_step(f, True),
    Opcode.SAVE: lambda f: _dma_step(f, False),
    Opcode.CONVINIT: _convinit_step,
    Opcode.CONV: _conv_step,
    Opcode.POOLINIT: _bound(poolinit),
    Opcode.POOL: _bound(pool),
    Opcode.ELEWINIT: _bound(elewinit),
    Opcode.ELEW: _elew_step,
    Opcode.MVM: _bound(mvm),
    Opcode.ACT: _bound(act),
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
