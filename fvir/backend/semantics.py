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
inside `decode`), while the numpy work of one instruction costs 5 us (a small LOAD) to
milliseconds (a large CONV), and plain ints make the per-instruction arithmetic (extents,
bounds) cheaper than numpy scalars from `columns` rows would. Faults raised here know only the
instruction type; drivers `locate` them (tenant, frame, index).

Each function is the pseudo-code of docs/isa.md, vectorized over numpy per instruction, never
element by element:

- LOAD/SAVE build strided views (`np.ndarray` over the buffer, no copies) of the 3-D block on
  both sides and copy once. The whole byte range is bounds-checked first (`MemoryFault` for DDR,
  `BufferFault` on chip), so a faulting instruction changes nothing.
- CONV is im2col (one [pixels x kernel_h*kernel_w*ic] matrix) times the [K x oc] weights.
  int8 products are exact in float32 BLAS: |x*w| <= 2**14, so any partial sum of at most 1024
  products is an integer of magnitude <= 2**24, which float32 represents exactly whatever order
  BLAS sums in. Longer reductions are cut into chunks of 1024 terms whose exact results are
  added in int64 (`exact_matmul`). Depthwise is an elementwise multiply-accumulate over kernel
  offsets (at most 15*15 terms, exact in float32). MVM uses the same exact matmul.
- POOL reads windows through `sliding_window_view` of the padded block (-inf padding for MAX,
  zero padding for AVG).
- Requantization (`rshift_round`, `sat8`, `activate`, `requant`) runs in int64, as the
  pseudo-code's helpers say.

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

import math
from collections.abc import Callable, Mapping
from functools import lru_cache

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
# LOAD / SAVE


def _dma_geometry(f: Fields) -> tuple[Shape, Shape, Shape]:
    shape = (f["rows"], f["cols"], f["chans"])
    ddr = (f["ddr_row_stride"], f["ddr_pix_stride"], 1)
    buf = (f["buf_row_stride"], f["buf_pix_stride"], 1)
    return shape, ddr, buf


def load(state: CoreState, mem: Memory, f: Fields) -> None:
    """LOAD: DDR block -> buffer."""
    shape, ddr, bufs = _dma_geometry(f)
    if 0 in shape:
        return
    off, addr, buf = f["off"], f["addr"], f["buf"]
    seg = mem.access("LOAD", "reads", f["seg"], off, _end(off, shape, ddr))
    _check_buf(state, "LOAD", "writes", buf, addr, shape, bufs)
    _store(state.raw[buf], addr, shape, bufs, _view(seg, off, shape, ddr))


def save(state: CoreState, mem: Memory, f: Fields) -> None:
    """SAVE: buffer block -> DDR."""
    shape, ddr, bufs = _dma_geometry(f)
    if 0 in shape:
        return
    off, addr, buf = f["off"], f["addr"], f["buf"]
    _check_buf(state, "SAVE", "reads", buf, addr, shape, bufs)
    seg = mem.access("SAVE", "writes", f["seg"], off, _end(off, shape, ddr))
    _store(seg, off, shape, ddr, _view(state.raw[buf], addr, shape, bufs))


# ---------------------------------------------------------------------------------------------
# CONV


def _positive(op: str, f: Fields, names: tuple[str, ...]) -> None:
    for name in names:
        if f[name] < 1:
            raise ProgramError(f"{name} = {f[name]}: must be at least 1", op)


def convinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONVINIT: latch the conv engine's configuration."""
    _positive("CONVINIT", f, ("kernel_h", "kernel_w", "stride_h", "stride_w", "dilation_h",
                              "dilation_w"))
    state.conv_cfg = dict(f)


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
    if in_rows < 0 or in_cols < 0:
        raise ProgramError(
            f"padding ({f['pad_t']}, {f['pad_l']}, {f['pad_b']}, {f['pad_r']}) exceeds the "
            f"input window of the {f['rows']} x {f['cols']} output block", op)
    shape = (in_rows, in_cols, chans)
    strides = (cfg["in_row_stride"], cfg["in_pix_stride"], 1)
    _check_buf(state, op, "reads", Buf.FMAP, f["in_addr"], shape, strides)
    if 0 in shape:
        return np.zeros(shape, state.fmap.dtype)
    return _view(state.fmap, f["in_addr"], shape, strides)


def conv(state: CoreState, mem: Memory, f: Fields) -> None:
    """CONV: one output block with the latched CONVINIT configuration."""
    c = state.conv_cfg
    if c is None:
        raise ProgramError("no CONVINIT before it (a frame must issue its own)", "CONV")
    rows, cols, ic, oc = f["rows"], f["cols"], f["ic"], f["oc"]
    kh, kw, sh, sw = c["kernel_h"], c["kernel_w"], c["stride_h"], c["stride_w"]
    dh, dw = c["dilation_h"], c["dilation_w"]
    depthwise = f["depthwise"]
    if depthwise and ic != oc:
        raise ProgramError(f"depthwise needs ic == oc, got ic = {ic}, oc = {oc}", "CONV")
    if rows == 0 or cols == 0 or oc == 0:
        return
    pads = _pads(f)
    in_rows = (rows - 1) * sh + (kh - 1) * dh + 1 - pads[0] - pads[2]
    in_cols = (cols - 1) * sw + (kw - 1) * dw + 1 - pads[1] - pads[3]
    x = _window("CONV", state, f, in_rows, in_cols, ic, c)
    wgt_addr = f["wgt_addr"]
    n_wgt = kh * kw * oc if depthwise else oc * kh * kw * ic
    _check_buf(state, "CONV", "reads", Buf.WEIGHT, wgt_addr, (n_wgt,), (1,))
    bias = _read_bias(state, "CONV", f["bias_addr"], oc)
    out_shape = (rows, cols, oc)
    out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
    _check_buf(state, "CONV", "writes", Buf.FMAP, f["out_addr"], out_shape, out_strides)

    p = _padded(x, pads, 0.0, np.float32)
    w = state.weight[wgt_addr : wgt_addr + n_wgt]

    def tap(ky: int, kx: int) -> np.ndarray:  # P at kernel offset (ky, kx): [rows, cols, ic]
        return p[ky * dh : ky * dh + (rows - 1) * sh + 1 : sh,
                 kx * dw : kx * dw + (cols - 1) * sw + 1 : sw]

    if depthwise:
        wd = w.reshape(kh, kw, oc).astype(np.float32)
        acc32 = np.zeros(out_shape, np.float32)
        for ky in range(kh):
            for kx in range(kw):
                acc32 += tap(ky, kx) * wd[ky, kx]
        acc32 = acc32.reshape(rows * cols, oc)
        acc = acc32.astype(np.int64) if state.mode == "int8" else acc32
    else:
        k = kh * kw * ic
        if kh == kw == 1 and sh == sw == 1:
            a = p.reshape(rows * cols, ic)  # P is exactly the output grid: no im2col copy
        else:
            a4 = np.empty((rows, cols, kh * kw, ic), np.float32)
            for ky in range(kh):
                for kx in range(kw):
                    a4[:, :, ky * kw + kx] = tap(ky, kx)
            a = a4.reshape(rows * cols, k)
        wm = w.reshape(oc, k).T.astype(np.float32)  # [K, oc], K ordered (ky, kx, i) like a
        acc = exact_matmul(a, wm) if state.mode == "int8" else a @ wm
    if state.mode == "int8":
        acc = acc + (bias << c["shift_bias"])
    else:
        acc = acc + bias
    _write_out(state, f["out_addr"], out_shape, out_strides, acc, c["shift_cut"], c["act"],
               c["act_arg"])


# ---------------------------------------------------------------------------------------------
# POOL


def poolinit(state: CoreState, mem: Memory, f: Fields) -> None:
    """POOLINIT: latch the pooling configuration."""
    _positive("POOLINIT", f, ("kernel_h", "kernel_w", "stride_h", "stride_w"))
    state.pool_cfg = dict(f)


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


def elew(state: CoreState, mem: Memory, f: Fields) -> None:
    """ELEW: a (+ or *) b over one block, requantized."""
    c = state.elew_cfg
    if c is None:
        raise ProgramError("no ELEWINIT before it (a frame must issue its own)", "ELEW")
    shape = (f["rows"], f["cols"], f["chans"])
    if 0 in shape:
        return
    in_strides = (c["in_row_stride"], c["in_pix_stride"], 1)
    out_strides = (c["out_row_stride"], c["out_pix_stride"], 1)
    for name in ("in_a", "in_b"):
        _check_buf(state, "ELEW", "reads", Buf.FMAP, f[name], shape, in_strides)
    _check_buf(state, "ELEW", "writes", Buf.FMAP, f["out_addr"], shape, out_strides)
    a = _view(state.fmap, f["in_a"], shape, in_strides)
    b = _view(state.fmap, f["in_b"], shape, in_strides)
    add = c["elew_type"] == ElewType.ADD
    if state.mode == "int8":
        a64 = a.astype(np.int64) << c["shift_a"]
        b64 = b.astype(np.int64) << c["shift_b"]
        acc = a64 + b64 if add else a64 * b64
    else:
        acc = a + b if add else a * b
    _write_out(state, f["out_addr"], shape, out_strides, acc, c["shift_out"], c["act"],
               c["act_arg"])


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
