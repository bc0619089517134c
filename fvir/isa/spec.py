"""The fvir instruction set: every instruction format, defined once.

This module is the single source of truth for the ISA, in the spirit of VTA's `hw_spec.h`: each
instruction is a list of fields with bit widths, a short meaning per field and pseudo-code of its
semantics. The encoder and decoder (`fvir.isa.encoding`), the assembler (`fvir.isa.asm`), the
simulator and the generated reference `docs/isa.md` (`fvir.isa.docgen`) all read these tables;
nothing else spells out a bit position.

Lineage. The instruction types follow Angel-Eye and the Xilinx DPU (DPUV2, as tabulated in VART's
`sim-runner`): LOAD/SAVE between DDR and on-chip buffers, CONVINIT/CONV, POOLINIT/POOL,
ELEWINIT/ELEW and END, with the DPU's opcode numbers, its 4-bit `dpdon`/`dpdby` dependency masks
across the LOAD, CONV, MISC and SAVE engines, and base-register-relative DDR addresses
(`seg` = base register, `off` = byte offset; never an absolute address, so the dynamic linker binds
a package to a tenant's DDR by writing base registers, not by rewriting instructions). Added for the
RNN extension (TRETS'22, modelled on Brainwave): MVM (matrix-vector) and ACT (vector activation by
lookup table); added for the multi-core pool: SYNC (a level-1 dispatcher barrier the linker
inserts). Depthwise convolution, a separate DPU instruction pair, is a flag of CONV here.

Format. Every instruction is one fixed-width word of 256 bits, stored as 8 little-endian uint32
words (`INSTR_WORDS`). The DPU uses 1-6 words of 32 bits per instruction; VTA uses 128 bits. Fixed
width is what the hot paths want: an instruction stream is an `[n, 8]` uint32 array, so the linker
patches one field of every LOAD/SAVE with a single masked numpy operation and the simulator decodes
all instructions of one opcode at once. 256 rather than 128 bits so that every field has a natural
width: byte addresses into on-chip buffers of up to 16 MiB (the big-core baseline has 16x a B512
core's buffers), full 32-bit DDR offsets, and 3-D strided transfers, without the compiler ever
hitting a field limit on VGG/ResNet shapes. 100k instructions take 3.2 MB.

Layout rule. Fields never straddle a 32-bit word. Each instruction's fields are packed in the order
listed, starting at bit 0 of word 0 (VTA packs LSB-first too), each into the current word if it
fits there and otherwise at bit 0 of the next word. The common header comes first: `opcode` (bits
0-3 of word 0), `dpdon` (4-7), `dpdby` (8-11). Unused bits are reserved and must be zero. The field
order in the tables below is therefore the binary layout; `docs/isa.md` prints the resulting bit
ranges.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

WORD_BITS = 32
INSTR_WORDS = 8
INSTR_BITS = WORD_BITS * INSTR_WORDS

# Widths shared by many fields, named once so that limits elsewhere derive from them (for example
# `fvir.hw` rejects a core whose buffers the 24-bit buffer addresses cannot reach).
OPCODE_BITS = 4
DEP_BITS = 4
BUF_ADDR_BITS = 24  # byte address into an on-chip buffer: 16 MiB
SEG_BITS = 5  # base-register id: 32 DDR segments per tenant
DDR_OFF_BITS = 32  # byte offset within a segment: 4 GiB
COUNT_BITS = 16  # rows, columns, channels of one instruction
ROW_PART_UNIT = 16  # LAYERNORM's part_start / part_len count elements in these units
PIX_STRIDE_BITS = 16  # bytes between adjacent pixels
ROW_STRIDE_BITS = 24  # bytes between adjacent rows in a buffer
PAD_BITS = 4
ZP_BITS = 8  # a zero point: an int8 code, signed
SHIFT_BITS = 6
SYNC_COUNT_BITS = 8  # cores taking part in one barrier
LEAKY_SHIFT = 8  # LEAKY's slope is act_arg / 2**LEAKY_SHIFT
BARRIER_BITS = 16  # barrier ids per tenant
# A requantization multiplier (CONV/MVM with `scaled`): an int32 in 1..REQUANT_MUL_MAX, so that
# acc * mul fits an int64 for any int32 accumulator (|acc| < 2**31).
REQUANT_MUL_BITS = 24

NUM_SEGMENTS = 1 << SEG_BITS
MAX_BUFFER_BYTES = 1 << BUF_ADDR_BITS
MAX_SYNC_CORES = (1 << SYNC_COUNT_BITS) - 1
NUM_BARRIERS = 1 << BARRIER_BITS  # a released barrier may be reused, so ids wrap around
REQUANT_MUL_MAX = (1 << REQUANT_MUL_BITS) - 1


class SegmentKind(enum.IntEnum):
    """What a DDR segment (a base register's region) holds; the dispatcher enforces it."""

    WEIGHTS = 0  # read-only, contents shipped in the package (`Package.weights`)
    INPUT = 1  # model inputs, written by the host before a run
    OUTPUT = 2  # model outputs, read by the host after a run
    ACTIVATION = 3  # intermediate tensors


class Opcode(enum.IntEnum):
    """Instruction types. The numbers shared with the DPU are the DPU's (DPUV2)."""

    LOAD = 0x0
    MVM = 0x1
    ACT = 0x2
    SYNC = 0x3
    SAVE = 0x4
    POOLINIT = 0x6
    END = 0x7
    CONV = 0x8
    CONVINIT = 0x9
    ROW = 0xA
    POOL = 0xC
    ELEWINIT = 0xD
    ELEW = 0xE


class Engine(enum.IntEnum):
    """The four engines of a core; the value is the engine's bit in `dpdon`/`dpdby`."""

    LOAD = 0
    CONV = 1
    MISC = 2
    SAVE = 3

    @property
    def letter(self) -> str:
        return self.name[0]

    @property
    def bit(self) -> int:
        return 1 << self.value


class Buf(enum.IntEnum):
    """On-chip buffers of a core (sizes in `fvir.hw.CoreConfig`)."""

    FMAP = 0  # int8 feature maps and vectors
    WEIGHT = 1  # int8 weights
    BIAS = 2  # int32 biases, little-endian


class Act(enum.IntEnum):
    """Activation fused into CONV, MVM and ELEW (applied after the requantization shift)."""

    NONE = 0
    RELU = 1
    RELU6 = 2  # clamp to [0, act_arg]: act_arg is 6.0 in the output's fixed-point scale
    LEAKY = 3  # negative y becomes rshift_round(y * act_arg, LEAKY_SHIFT): slope act_arg / 256


class PoolType(enum.IntEnum):
    MAX = 0
    AVG = 1


class ElewType(enum.IntEnum):
    ADD = 0
    MUL = 1


class ActFunc(enum.IntEnum):
    """Functions of the ACT instruction's lookup table."""

    IDENTITY = 0  # requantize from in_frac to out_frac
    RELU = 1
    SIGMOID = 2
    TANH = 3
    GELU = 4  # I-BERT's integer GELU (docs/quantization.md, "Transformers"), not a real-valued f
    HARDSWISH = 5  # x * relu6(x + 3) / 6
    HARDSIGMOID = 6  # relu6(x + 3) / 6 (PyTorch's hardsigmoid: ONNX HardSigmoid alpha 1/6)
    SILU = 7  # x * sigmoid(x) (SiLU, swish)


class RowFunc(enum.IntEnum):
    """Row reductions of the ROW instruction (docs/quantization.md, "Transformers")."""

    SOFTMAX = 0
    LAYERNORM = 1


EPS_LO_BITS, EPS_HI_BITS = 32, 16
"""LayerNorm's epsilon on the row's variance grid, eps_q < 2**48, split over two fields."""


@dataclass(frozen=True)
class Field:
    """One field of an instruction: `bits` wide, unsigned unless `signed` (two's complement)."""

    name: str
    bits: int
    doc: str
    signed: bool = False
    enum: type[enum.IntEnum] | None = None
    default: int | None = None  # None: the field must be given
    hex: bool = False  # shown in hex by the disassembler

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class Placed:
    """A field at its position: bits `lsb .. lsb+bits-1` of word `word`."""

    field: Field
    word: int
    lsb: int

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def mask(self) -> int:
        return (1 << self.field.bits) - 1


@dataclass(frozen=True)
class InstrSpec:
    """One instruction type: its engine, fields (in layout order), meaning and semantics."""

    op: Opcode
    engine: Engine | None  # None: executed by the core's dispatcher as a full fence
    doc: str
    semantics: str
    fields: tuple[Field, ...]
    layout: tuple[Placed, ...] = dataclass_field(init=False)
    words_used: int = dataclass_field(init=False)

    def __post_init__(self) -> None:
        layout = _pack((*HEADER, *self.fields))
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "words_used", layout[-1].word + 1)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the type-specific fields (the header excluded), in layout order."""
        return tuple(f.name for f in self.fields)

    def placed(self, name: str) -> Placed:
        for p in self.layout:
            if p.name == name:
                return p
        raise KeyError(f"{self.op.name} has no field '{name}'")

    def reserved_masks(self) -> tuple[int, ...]:
        """Per word, the bits no field occupies (they must be zero)."""
        used = [0] * INSTR_WORDS
        for p in self.layout:
            used[p.word] |= p.mask << p.lsb
        return tuple(~u & 0xFFFFFFFF for u in used)


HEADER = (
    Field("opcode", OPCODE_BITS, "instruction type (`Opcode`)"),
    Field("dpdon", DEP_BITS, "engines waited on: bit 0 LOAD, 1 CONV, 2 MISC, 3 SAVE"),
    Field("dpdby", DEP_BITS, "engines this instruction signals when done (same bit order)"),
)


def _pack(fields: tuple[Field, ...]) -> tuple[Placed, ...]:
    """The layout rule: in order, LSB first, a field that does not fit starts the next word."""
    out: list[Placed] = []
    word, lsb = 0, 0
    for f in fields:
        if not 0 < f.bits <= WORD_BITS:
            raise ValueError(f"field '{f.name}' has {f.bits} bits; fields are 1-{WORD_BITS} bits")
        if lsb + f.bits > WORD_BITS:
            word, lsb = word + 1, 0
        out.append(Placed(f, word, lsb))
        lsb += f.bits
    if word >= INSTR_WORDS:
        raise ValueError(f"fields need {word + 1} words; instructions have {INSTR_WORDS}")
    return tuple(out)


# Field makers for the shapes that recur, so that equal things have equal widths.
def _addr(name: str, doc: str) -> Field:
    return Field(name, BUF_ADDR_BITS, doc)


def _count(name: str, doc: str, bits: int = COUNT_BITS) -> Field:
    return Field(name, bits, doc)


def _shift(name: str, doc: str, default: int | None = None) -> Field:
    return Field(name, SHIFT_BITS, doc, default=default)


def _pads() -> tuple[Field, ...]:
    return tuple(
        Field(f"pad_{side}", PAD_BITS, f"rows/columns of padding at the {where} tile edge",
              default=0)
        for side, where in (("t", "top"), ("l", "left"), ("b", "bottom"), ("r", "right"))
    )


def _layout_strides() -> tuple[Field, ...]:
    """Buffer layout of a compute instruction's operands: int8 HWC with explicit strides."""
    return (
        Field("in_row_stride", ROW_STRIDE_BITS, "bytes between input rows in the fmap buffer"),
        Field("out_row_stride", ROW_STRIDE_BITS, "bytes between output rows in the fmap buffer"),
        Field("in_pix_stride", PIX_STRIDE_BITS, "bytes between adjacent input pixels"),
        Field("out_pix_stride", PIX_STRIDE_BITS, "bytes between adjacent output pixels"),
    )


def _zp(name: str, doc: str) -> Field:
    """A zero point: the int8 code of the real value 0 (value = (q - zp) * 2**-frac)."""
    return Field(name, ZP_BITS, doc, signed=True, default=0)


def _act_field() -> Field:
    return Field("act", 3, "fused activation (`Act`)", enum=Act, default=Act.NONE)


def _act_arg_field() -> Field:
    return Field("act_arg", 8, "RELU6: clamp value; LEAKY: slope in 1/256", default=0)


def _requant() -> tuple[Field, ...]:
    """The accumulator-to-int8 step of CONV and MVM (the DPU's shift_cut / shift_bias)."""
    return (
        _act_field(),
        _shift("shift_cut", "right shift from the int32 accumulator to the int8 output"),
        _shift("shift_bias", "left shift applied to the bias before it is added", default=0),
        _act_arg_field(),
    )


def _scaled() -> Field:
    """Per-output-channel requantization multipliers, interleaved with the biases."""
    return Field("scaled", 1, "1: the bias buffer holds an (int32 bias, int32 multiplier) pair "
                 "per output channel, 8 bytes apart; the accumulator is multiplied before the "
                 "requantization", default=0)


def _split_flags(start: str = "the bias") -> tuple[Field, ...]:
    """A reduction split over several CONV / MVM / POOL instructions (weights or a window that
    do not fit the buffers with every input at once): int32 partial results kept in the bias
    buffer."""
    return (
        Field("acc_in", 1, f"1: start from the partial sums at psum_addr, not {start}",
              default=0),
        Field("acc_out", 1, "1: write the int32 sums to psum_addr (no requantization)",
              default=0),
    )


def _psum_addr(layout: str) -> Field:
    return Field("psum_addr", BUF_ADDR_BITS,
                 f"bias-buffer byte address of the int32 partial sums {layout} (acc_in, acc_out)",
                 default=0)


def _dma_fields(direction: str) -> tuple[Field, ...]:
    """LOAD and SAVE share one layout, so the linker patches both in one operation."""
    buf_doc = "destination buffer (`Buf`)" if direction == "load" else "source buffer (`Buf`)"
    return (
        Field("buf", 2, buf_doc, enum=Buf),
        Field("seg", SEG_BITS, "DDR segment: base-register id, bound by the linker"),
        Field("off", DDR_OFF_BITS, "byte offset of the first byte within the segment", hex=True),
        _addr("addr", "byte address of the first byte in the buffer"),
        _count("rows", "rows to transfer"),
        _count("cols", "pixels per row"),
        _count("chans", "contiguous bytes per pixel (channels, for int8 data)"),
        Field("buf_pix_stride", PIX_STRIDE_BITS, "bytes between adjacent pixels in the buffer"),
        Field("ddr_row_stride", 32, "bytes between adjacent rows in DDR"),
        Field("ddr_pix_stride", 24, "bytes between adjacent pixels in DDR"),
        Field("buf_row_stride", ROW_STRIDE_BITS, "bytes between adjacent rows in the buffer"),
    )


def dma_end(fields: Mapping[str, Any], side: str) -> Any:
    """One past the last byte a non-empty LOAD/SAVE touches: in its segment (`side` "ddr",
    from `off`) or in its buffer ("buf", from `addr`), by the LOAD/SAVE pseudo-code below.
    `fields` maps field names to ints or to numpy columns (then the result is a column)."""
    start = fields["off"] if side == "ddr" else fields["addr"]
    return (start + (fields["rows"] - 1) * fields[f"{side}_row_stride"]
            + (fields["cols"] - 1) * fields[f"{side}_pix_stride"] + fields["chans"])


# Helpers the pseudo-code below uses; docs/isa.md prints them once.
SEMANTICS_HELPERS = f"""\
rshift_round(x, s) = (x + (1 << (s - 1))) >> s  if s > 0 else x     # arithmetic shift, int64
sat8(x)            = min(max(x, -128), 127)
activate(y, act, arg) = y                                   if act == NONE
                        max(y, 0)                           if act == RELU
                        min(max(y, 0), arg)                 if act == RELU6
                        y if y >= 0 else rshift_round(y * arg, {LEAKY_SHIFT})   if act == LEAKY
requant(acc, s, act, arg, zp) = sat8(activate(rshift_round(acc, s), act, arg) + zp)
FMAP, WGT: int8 views of the fmap and weight buffers; BIAS32[a]: the int32 at byte a of the
bias buffer; DDR[a]: byte a of DDR; BASE[seg]: the tenant's base register seg."""

DEPENDENCY_RULES = """\
Each engine executes its own instructions in program order; the four engines run concurrently.
For every ordered pair of distinct engines (P, Q) a core keeps a token counter tok[P->Q], zero
when a stream starts (the DPU's dpdon/dpdby; VTA's dependency queues are the same idea).

before an instruction on engine E starts:  for each P in dpdon: wait until tok[P->E] > 0
                                                                 tok[P->E] -= 1
after it completes:                        for each Q in dpdby: tok[E->Q] += 1

An instruction's own engine bit must be 0 in both masks; SYNC and END (no engine: the core's
dispatcher runs them as full fences) have both masks 0. A frame leaves every counter as it found
it (each token it signals is consumed within the frame), so any frame can run on any core after
any other frame."""

ADDRESSING_RULES = """\
DDR is never addressed absolutely. LOAD and SAVE name a segment `seg` (a base register of the
tenant, 0..NUM_SEGMENTS-1) and a byte offset `off` within it; the address is BASE[seg] + off.
The static compiler emits packages whose segments (weights, input, output, activations...) are
unbound; the dynamic linker binds them by writing the tenant's base registers, and the level-1
dispatcher faults any access outside the segment's region. On-chip buffer fields (`*addr`,
`in_*`, `out_*`) are byte addresses into the core's fmap, weight or bias buffer; a frame must
re-issue every *INIT it relies on, since the previous frame on the core may be any layer's."""

SPECS: dict[Opcode, InstrSpec] = {
    s.op: s
    for s in (
        InstrSpec(
            Opcode.LOAD,
            Engine.LOAD,
            "Copy a 3-D block (rows x cols x chans bytes) from DDR into an on-chip buffer.",
            """\
for r in range(rows), c in range(cols):
    src = BASE[seg] + off + r * ddr_row_stride + c * ddr_pix_stride
    dst = addr + r * buf_row_stride + c * buf_pix_stride
    buffer(buf)[dst : dst + chans] = DDR[src : src + chans]
# faults if a source byte lies outside segment seg of the tenant, or dst outside the buffer""",
            _dma_fields("load"),
        ),
        InstrSpec(
            Opcode.SAVE,
            Engine.SAVE,
            "Copy a 3-D block (rows x cols x chans bytes) from an on-chip buffer to DDR.",
            """\
for r in range(rows), c in range(cols):
    src = addr + r * buf_row_stride + c * buf_pix_stride
    dst = BASE[seg] + off + r * ddr_row_stride + c * ddr_pix_stride
    DDR[dst : dst + chans] = buffer(buf)[src : src + chans]
# faults if a destination byte lies outside segment seg of the tenant""",
            _dma_fields("save"),
        ),
        InstrSpec(
            Opcode.CONVINIT,
            Engine.CONV,
            "Configure the conv engine for the CONV instructions that follow (a layer's "
            "constants).",
            """\
CONV_CFG = all fields of this instruction     # kept by the conv engine until the next CONVINIT""",
            (
                *_requant(),
                Field("kernel_h", 4, "kernel height"),
                Field("kernel_w", 4, "kernel width"),
                Field("stride_h", 4, "vertical stride"),
                Field("stride_w", 4, "horizontal stride"),
                Field("dilation_h", 4, "vertical dilation", default=1),
                Field("dilation_w", 4, "horizontal dilation", default=1),
                *_layout_strides(),
                _zp("in_zp", "the input's zero point: CONV's padding value"),
                _zp("out_zp", "the output's zero point, added after the activation"),
                _scaled(),
            ),
        ),
        InstrSpec(
            Opcode.CONV,
            Engine.CONV,
            "Convolve one output block of rows x cols pixels x oc channels (one tile, or a "
            "DPU-sized PP-row slice of one) with the CONVINIT configuration.",
            """\
c = CONV_CFG
in_rows = (rows - 1) * c.stride_h + (c.kernel_h - 1) * c.dilation_h + 1 - pad_t - pad_b
in_cols = (cols - 1) * c.stride_w + (c.kernel_w - 1) * c.dilation_w + 1 - pad_l - pad_r
X[y, x, i] = FMAP[in_addr + y * c.in_row_stride + x * c.in_pix_stride + i]
             for y < in_rows, x < in_cols, i < ic
P = X with pad_t rows of c.in_zp above, pad_b below, pad_l columns of c.in_zp left, pad_r right
# inputs are not offset by c.in_zp: the compiler folds -c.in_zp * sum(w) into the bias
for y < rows, x < cols, o < oc:
    if not depthwise:     # weights [oc][kernel_h][kernel_w][ic], int8
        acc = sum(P[y * c.stride_h + ky * c.dilation_h, x * c.stride_w + kx * c.dilation_w, i]
                  * WGT[wgt_addr + ((o * c.kernel_h + ky) * c.kernel_w + kx) * ic + i]
                  for ky < c.kernel_h, kx < c.kernel_w, i < ic)
    else:                 # oc == ic, weights [kernel_h][kernel_w][oc], int8
        acc = sum(P[y * c.stride_h + ky * c.dilation_h, x * c.stride_w + kx * c.dilation_w, o]
                  * WGT[wgt_addr + (ky * c.kernel_w + kx) * oc + o]
                  for ky < c.kernel_h, kx < c.kernel_w)
    p = psum_addr + 4 * ((y * cols + x) * oc + o)
    b = bias_addr + 8 * o if c.scaled else bias_addr + 4 * o
    acc += BIAS32[p] if acc_in else BIAS32[b] << c.shift_bias
    if acc_out:           # a partial sum over some input channels: kept, not requantized
        BIAS32[p] = acc
    else:                 # scaled: the multiplier sits next to the bias (acc_in too)
        mul = BIAS32[b + 4] if c.scaled else 1
        FMAP[out_addr + y * c.out_row_stride + x * c.out_pix_stride + o] = \\
            requant(acc * mul, c.shift_cut, c.act, c.act_arg, c.out_zp)
# the bias buffer is read at bias_addr .. bias_addr + 4 * oc - 1 (scaled: 8 * oc) unless
# acc_in and (not scaled or acc_out); a multiplier read outside 1..REQUANT_MUL_MAX (2**24 - 1)
# faults; acc * mul is int64 (the compiler keeps |acc| < 2**31)""",
            (
                *_pads(),
                Field("depthwise", 1, "1: depthwise (channel i only feeds output i)", default=0),
                *_split_flags(),
                _addr("in_addr", "fmap-buffer address of the input window's first pixel"),
                _addr("wgt_addr", "weight-buffer address of the block's weights"),
                _addr("bias_addr", "bias-buffer byte address of the block's int32 biases (scaled: "
                      "(bias, multiplier) pairs)"),
                _addr("out_addr", "fmap-buffer address of the output block's first pixel"),
                _count("rows", "output rows"),
                _count("cols", "output columns (DPU: length)"),
                _count("ic", "input channels accumulated (DPU: channel_group x ICP)"),
                _count("oc", "output channels"),
                _psum_addr("[rows][cols][oc]"),
            ),
        ),
        InstrSpec(
            Opcode.POOLINIT,
            Engine.MISC,
            "Configure pooling for the POOL instructions that follow.",
            """\
POOL_CFG = all fields of this instruction     # kept by the misc engine until the next POOLINIT""",
            (
                Field("pool_type", 2, "MAX or AVG (`PoolType`)", enum=PoolType),
                _shift("avg_shift", "AVG: right shift after multiplying by avg_mul", default=0),
                Field("stride_h", 4, "vertical stride"),
                Field("stride_w", 4, "horizontal stride"),
                Field("kernel_h", 8, "window height (up to 255: global pooling)"),
                Field("kernel_w", 8, "window width"),
                Field("avg_mul", 16, "AVG: multiplier, about 2**avg_shift / window size",
                      default=0),
                *_layout_strides(),
                Field("window_h", 8, "AVG, fp32 mode: the height of a window split over "
                      "POOLs by rows, which fp32 mode divides by (0: kernel_h)", default=0),
                _zp("in_zp", "the input's zero point (AVG: the padding value)"),
                _zp("out_zp", "the output's zero point"),
            ),
        ),
        InstrSpec(
            Opcode.POOL,
            Engine.MISC,
            "Pool one output block of rows x cols pixels x chans channels.",
            """\
c = POOL_CFG
in_rows = (rows - 1) * c.stride_h + c.kernel_h - pad_t - pad_b
in_cols = (cols - 1) * c.stride_w + c.kernel_w - pad_l - pad_r
X[y, x, i] = FMAP[in_addr + y * c.in_row_stride + x * c.in_pix_stride + i]
             for y < in_rows, x < in_cols, i < chans
for y < rows, x < cols, i < chans:
    window = P[y * c.stride_h : y * c.stride_h + c.kernel_h,
               x * c.stride_w : x * c.stride_w + c.kernel_w, i]
    p = psum_addr + 4 * ((y * cols + x) * chans + i)
    if c.pool_type == MAX:   # P = X padded with -inf: padding never wins; acc is a code
        acc = max(window)
        acc = max(acc, BIAS32[p]) if acc_in else acc
    else:                    # P = X padded with c.in_zp (the value 0): padding counts
        acc = sum(window - c.in_zp) + (BIAS32[p] if acc_in else 0)
    if acc_out:              # a window split over rows: the partial result is kept
        BIAS32[p] = acc
        continue
    if c.pool_type == MAX:
        out = sat8(acc - c.in_zp + c.out_zp)
    else:
        out = sat8(rshift_round(acc * c.avg_mul, c.avg_shift) + c.out_zp)
    FMAP[out_addr + y * c.out_row_stride + x * c.out_pix_stride + i] = out""",
            (
                *_pads(),
                _addr("in_addr", "fmap-buffer address of the input window's first pixel"),
                _addr("out_addr", "fmap-buffer address of the output block's first pixel"),
                _count("rows", "output rows"),
                _count("cols", "output columns"),
                _count("chans", "channels"),
                *_split_flags("zero"),
                _psum_addr("[rows][cols][chans]"),
            ),
        ),
        InstrSpec(
            Opcode.ELEWINIT,
            Engine.MISC,
            "Configure the element-wise unit for the ELEW instructions that follow.",
            """\
ELEW_CFG = all fields of this instruction     # kept by the misc engine until the next ELEWINIT""",
            (
                Field("elew_type", 2, "ADD or MUL (`ElewType`)", enum=ElewType),
                _act_field(),
                _shift("shift_a", "left shift of input a (aligns fixed-point scales)", default=0),
                _shift("shift_b", "left shift of input b", default=0),
                _shift("shift_out", "right shift from the int32 result to the int8 output"),
                _act_arg_field(),
                Field("bcast_b", 1, "1: input b is one pixel of chans bytes, applied to every "
                      "pixel (a per-channel vector: squeeze-excitation gates)", default=0),
                *_layout_strides(),
                _zp("zp_a", "input a's zero point"),
                _zp("zp_b", "input b's zero point"),
                _zp("zp_out", "the output's zero point, added after the activation"),
            ),
        ),
        InstrSpec(
            Opcode.ELEW,
            Engine.MISC,
            "Combine two int8 blocks element-wise (residual add; gate products of an LSTM; "
            "a block times a per-channel vector).",
            """\
c = ELEW_CFG
for y < rows, x < cols, i < chans:
    a = (FMAP[in_a + y * c.in_row_stride + x * c.in_pix_stride + i] - c.zp_a) << c.shift_a
    b = (FMAP[in_b + y * c.in_row_stride + x * c.in_pix_stride + i] - c.zp_b) << c.shift_b \\
        if not c.bcast_b else (FMAP[in_b + i] - c.zp_b) << c.shift_b
    acc = a + b if c.elew_type == ADD else a * b
    FMAP[out_addr + y * c.out_row_stride + x * c.out_pix_stride + i] = \\
        requant(acc, c.shift_out, c.act, c.act_arg, c.zp_out)""",
            (
                _count("chans", "channels"),
                _addr("in_a", "fmap-buffer address of input a"),
                _addr("in_b", "fmap-buffer address of input b"),
                _addr("out_addr", "fmap-buffer address of the output (may equal in_a or in_b)"),
                _count("rows", "rows"),
                _count("cols", "columns"),
            ),
        ),
        InstrSpec(
            Opcode.MVM,
            Engine.CONV,
            "Matrix-vector product y = W x + b of rows x cols int8 weights (dense and RNN "
            "layers; an LSTM step multiplies [W_x | W_h] by the concatenated [x; h]).",
            """\
for r < rows:            # the input's zero point is folded into the bias by the compiler
    acc = sum(WGT[wgt_addr + r * cols + k] * FMAP[vec_addr + k] for k < cols)
    p = psum_addr + 4 * r
    b = bias_addr + 8 * r if scaled else bias_addr + 4 * r
    acc += BIAS32[p] if acc_in else BIAS32[b] << shift_bias
    if acc_out:           # a partial sum over some columns: kept, not requantized
        BIAS32[p] = acc
    else:                 # scaled: the multiplier sits next to the bias (acc_in too)
        mul = BIAS32[b + 4] if scaled else 1
        FMAP[out_addr + r] = requant(acc * mul, shift_cut, act, act_arg, out_zp)
# the bias buffer is read at bias_addr .. bias_addr + 4 * rows - 1 (scaled: 8 * rows) unless
# acc_in and (not scaled or acc_out); a multiplier read outside 1..REQUANT_MUL_MAX (2**24 - 1)
# faults; acc * mul is int64 (the compiler keeps |acc| < 2**31)""",
            (
                *_requant()[:3],
                *_split_flags(),
                _requant()[3],
                _addr("wgt_addr", "weight-buffer address of W, row-major [rows][cols]"),
                _addr("vec_addr", "fmap-buffer address of x (cols bytes)"),
                _addr("bias_addr", "bias-buffer byte address of b (rows int32; scaled: rows (bias, "
                      "multiplier) pairs)"),
                _addr("out_addr", "fmap-buffer address of y (rows bytes)"),
                _count("rows", "output elements (matrix rows)"),
                _count("cols", "input elements (matrix columns)"),
                _psum_addr("[rows]"),
                _zp("out_zp", "the output's zero point, added after the activation"),
                _scaled(),
            ),
        ),
        InstrSpec(
            Opcode.ACT,
            Engine.MISC,
            "Apply a function to an int8 vector through a 256-entry lookup table (sigmoid and "
            "tanh of RNN gates, GELU of transformers, hard-swish, hard-sigmoid and SiLU of "
            "mobile CNNs).",
            """\
f = {IDENTITY: v -> v, RELU: v -> max(v, 0), SIGMOID: v -> 1 / (1 + exp(-v)), TANH: tanh,
     HARDSWISH: v -> v * min(max(v + 3, 0), 6) / 6,
     HARDSIGMOID: v -> min(max(v + 3, 0), 6) / 6, SILU: v -> v * (1 / (1 + exp(-v)))}[func]
LUT[q] = sat8(floor(f((q - in_zp) / 2**in_frac) * 2**out_frac + 0.5) + out_zp)
         for q in -128..127 (float64)
GELU:  LUT[q] = i_gelu(q, in_frac, out_frac)   (integer-only, docs/quantization.md;
       in_zp and out_zp must be 0)
for i < length:
    FMAP[out_addr + i] = LUT[FMAP[in_addr + i]]""",
            (
                Field("func", 3, "the function (`ActFunc`)", enum=ActFunc),
                Field("in_frac", SHIFT_BITS, "fractional bits of the input: value = q / 2**in_frac",
                      signed=True),
                Field("out_frac", SHIFT_BITS, "fractional bits of the output", signed=True),
                _addr("in_addr", "fmap-buffer address of the input vector"),
                _addr("out_addr", "fmap-buffer address of the output (may equal in_addr)"),
                Field("length", 24, "elements"),
                _zp("in_zp", "the input's zero point (GELU: must be 0)"),
                _zp("out_zp", "the output's zero point (GELU: must be 0)"),
            ),
        ),
        InstrSpec(
            Opcode.ROW,
            Engine.MISC,
            "Softmax or LayerNorm of `rows` int8 vectors of `length` elements each, stored one "
            "after the other (transformers; I-BERT-style integer kernels).",
            """\
for r < rows:
    x = FMAP[in_addr + r * length + j] for j < length
    SOFTMAX:   FMAP[out_addr + r * length + j] = softmax_rows(x, in_frac, out_frac)[j]
    LAYERNORM: eps_q = eps_lo + (eps_hi << 32)
               p0 = 16 * part_start                  # the elements written: [p0, p1)
               p1 = min(length, p0 + 16 * part_len) if part_len else length   # 16: ROW_PART_UNIT
               g[j] = WGT[gamma_addr + j - p0]; b[j] = BIAS32[beta_addr + 4 * (j - p0)]
               for p0 <= j < p1:   # statistics of the whole row, scale and bias of the part
                   FMAP[out_addr + r * length + j] = layernorm_rows(x, eps_q, g, b, shift)[j]
(softmax_rows, layernorm_rows: docs/quantization.md, "Transformers"; all int64)""",
            (
                Field("func", 1, "the reduction (`RowFunc`)", enum=RowFunc),
                Field("in_frac", SHIFT_BITS, "fractional bits of the input (LAYERNORM: for "
                      "fp32 mode's epsilon)", signed=True, default=0),
                Field("out_frac", SHIFT_BITS, "SOFTMAX: fractional bits of the output",
                      signed=True, default=0),
                _shift("shift", "LAYERNORM: right shift of n * g + b to the int8 output",
                       default=0),
                _addr("in_addr", "fmap-buffer address of the first row"),
                _addr("out_addr", "fmap-buffer address of the first output row (may equal "
                      "in_addr)"),
                _count("rows", "vectors"),
                _count("length", "elements per vector"),
                Field("gamma_addr", BUF_ADDR_BITS,
                      "LAYERNORM: weight-buffer address of the int8 scale", default=0),
                Field("part_start", 8, "LAYERNORM: the first element written, in units of 16 "
                      "(rows whose scale and bias are loaded in parts)", default=0),
                Field("beta_addr", BUF_ADDR_BITS,
                      "LAYERNORM: bias-buffer byte address of the int32 bias", default=0),
                Field("part_len", 8, "LAYERNORM: elements written from the first, in units of "
                      "16, the row's end at most (0: to the row's end)", default=0),
                Field("eps_lo", EPS_LO_BITS, "LAYERNORM: epsilon's low 32 bits", default=0),
                Field("eps_hi", EPS_HI_BITS, "LAYERNORM: epsilon's high 16 bits", default=0),
            ),
        ),
        InstrSpec(
            Opcode.SYNC,
            None,
            "Barrier among the cores of one tenant, kept by the level-1 dispatcher; the linker "
            "inserts one where frames of the next layer (or RNN time step) need the previous one.",
            """\
wait until every earlier instruction of this core has completed (all four engines idle)
arrive at barrier `barrier` of this tenant in the level-1 dispatcher
block until `count` cores have arrived at it; the barrier then resets and may be reused""",
            (
                _count("count", "cores that must arrive", bits=SYNC_COUNT_BITS),
                _count("barrier", "barrier id, per tenant", bits=BARRIER_BITS),
            ),
        ),
        InstrSpec(
            Opcode.END,
            None,
            "End of this core's instruction stream.",
            """\
wait until every earlier instruction of this core has completed
report completion of the stream to the level-1 dispatcher""",
            (),
        ),
    )
}


def field(op: Opcode, name: str) -> Field:
    """Field `name` of instruction `op`: the one place its width and range are read from."""
    return SPECS[op].placed(name).field


def _check_tables() -> None:
    """Invariants every table must keep; run at import so a bad edit fails immediately."""
    for op, spec in SPECS.items():
        names = [p.name for p in spec.layout]
        if len(set(names)) != len(names):
            raise ValueError(f"{op.name}: duplicate field names")
        for f in spec.fields:
            if f.enum is not None and max(f.enum) >= 1 << f.bits:
                raise ValueError(f"{op.name}.{f.name}: {f.enum.__name__} does not fit")
            if f.default is not None and not f.lo <= f.default <= f.hi:
                raise ValueError(f"{op.name}.{f.name}: default out of range")
    if set(Opcode) != set(SPECS):
        raise ValueError("every opcode needs exactly one InstrSpec")


_check_tables()
