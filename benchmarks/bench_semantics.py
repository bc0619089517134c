"""Benchmark: time per CONV instruction in the simulator's semantics, int8 vs fp32, for
ResNet-50-like shapes, next to numpy's own float32 matmul of the same MAC count.

    python benchmarks/bench_semantics.py [--repeat 20] [--json]

Per shape it reports the medians of `semantics.conv` in int8 mode (exact: float32 BLAS on
chunks of <= 1024 terms, requantization in int64) and in fp32 mode, and of a bare
`[pixels x K] @ [K x oc]` float32 matmul on prepared operands (the floor any im2col
implementation pays), with the ratios to that baseline. Also the fixed cost of a tiny CONV
and of a LOAD, and of decoding one instruction into the dict the semantics read (`decode`), to
compare with the numpy work.

On a shared machine with few cores, multi-threaded BLAS makes medians jumpy; run with
`OPENBLAS_NUM_THREADS=1` for steadier numbers (the baseline uses the same BLAS, so the ratios
stay meaningful either way).
"""

import argparse

import numpy as np
from common import doc_summary, measure, report

from fvir.backend.memory import Memory
from fvir.backend.semantics import CoreState, conv, convinit, load
from fvir.hw import BIG_CORE
from fvir.isa import Instruction, Opcode, decode, encode

CORE = BIG_CORE.core  # 1 MiB fmap, 4.5 MiB weights: whole ResNet-50 tiles fit

# name: (rows, cols, ic, oc, kernel, stride, pad, depthwise)
SHAPES = {
    "1x4x8->8 3x3 (fixed cost)": (1, 4, 8, 8, 3, 1, 1, False),
    "56x56x64->64 3x3, 4-row slice": (4, 56, 64, 64, 3, 1, 1, False),
    "56x56x64->64 3x3, whole": (56, 56, 64, 64, 3, 1, 1, False),
    "56x56x64->256 1x1, 8-row slice": (8, 56, 64, 256, 1, 1, 0, False),
    "7x7x512->512 3x3": (7, 7, 512, 512, 3, 1, 1, False),
    "7x7x2048->512 1x1": (7, 7, 2048, 512, 1, 1, 0, False),
    "7x7x512->2048 1x1": (7, 7, 512, 2048, 1, 1, 0, False),
    "112x112x3->64 7x7/2, 4-row slice": (4, 112, 3, 64, 7, 2, 3, False),
    "56x56x144 dw 3x3, 8-row slice": (8, 56, 144, 144, 3, 1, 1, True),
}


def setup(mode: str, rows: int, cols: int, ic: int, oc: int, k: int, s: int, pad: int,
          depthwise: bool) -> tuple[CoreState, Memory, dict[str, int]]:
    rng = np.random.default_rng(0)
    state = CoreState(CORE, mode)  # type: ignore[arg-type]
    in_rows, in_cols = (rows - 1) * s + k - 2 * pad, (cols - 1) * s + k - 2 * pad
    n_in, n_w = in_rows * in_cols * ic, k * k * oc * (1 if depthwise else ic)
    if mode == "int8":
        state.fmap[:n_in] = rng.integers(-128, 128, n_in)
        state.weight[:n_w] = rng.integers(-128, 128, n_w)
        state.bias[: 4 * oc] = rng.integers(-1000, 1000, oc).astype("<i4").view(np.uint8)
    else:
        state.fmap[:n_in] = rng.standard_normal(n_in)
        state.weight[:n_w] = rng.standard_normal(n_w)
        state.bias[: 4 * oc] = rng.standard_normal(4 * oc)
    mem = Memory(mode)  # type: ignore[arg-type]
    convinit(state, mem, Instruction.make(
        Opcode.CONVINIT, act=1, shift_cut=12, kernel_h=k, kernel_w=k, stride_h=s, stride_w=s,
        in_row_stride=in_cols * ic, out_row_stride=cols * oc, in_pix_stride=ic,
        out_pix_stride=oc).fields)
    fields = Instruction.make(
        Opcode.CONV, pad_t=pad, pad_l=pad, pad_b=pad, pad_r=pad, depthwise=int(depthwise),
        in_addr=0, wgt_addr=0, bias_addr=0, out_addr=n_in, rows=rows, cols=cols, ic=ic,
        oc=oc).fields
    return state, mem, fields


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    rows: dict[str, dict[str, float]] = {}
    for name, shape in SHAPES.items():
        r, c, ic, oc, k, _, _, depthwise = shape
        macs = r * c * oc * k * k * (1 if depthwise else ic)
        timing = {}
        for mode in ("int8", "fp32"):
            state, mem, fields = setup(mode, *shape)
            timing[mode] = measure(lambda s=state, m=mem, f=fields: conv(s, m, f), args.repeat)
            rows[f"{name}: {mode}"] = timing[mode]
        # Baseline: the same MACs as one float32 matmul (depthwise: elementwise, so MACs/oc
        # as K gives the same count).
        kk = k * k * (1 if depthwise else ic)
        a = rng.standard_normal((r * c, kk)).astype(np.float32)
        b = rng.standard_normal((kk, oc)).astype(np.float32)
        timing["matmul"] = measure(lambda a=a, b=b: a @ b, args.repeat)
        rows[f"{name}: np.matmul"] = timing["matmul"]
        base = timing["matmul"]["median_s"]
        rows[f"{name}: summary"] = {
            "MMAC": macs / 1e6,
            "int8 us": timing["int8"]["median_s"] * 1e6,
            "fp32 us": timing["fp32"]["median_s"] * 1e6,
            "matmul us": base * 1e6,
            "int8/matmul": timing["int8"]["median_s"] / base,
            "fp32/matmul": timing["fp32"]["median_s"] / base,
            "int8 GMAC/s": macs / timing["int8"]["median_s"] / 1e9,
        }
    state, mem, _ = setup("int8", *SHAPES["1x4x8->8 3x3 (fixed cost)"])
    mem.alloc(0, 1 << 20)
    tile = Instruction.make(Opcode.LOAD, buf=0, seg=0, off=0, addr=0, rows=10, cols=58, chans=64,
                            buf_pix_stride=64, ddr_row_stride=2 * 58 * 64, ddr_pix_stride=64,
                            buf_row_stride=58 * 64).fields
    small = {**tile, "rows": 1, "cols": 1}
    for name, fields in (("LOAD 10x58x64 window", tile), ("LOAD 64 bytes", small)):
        t = measure(lambda f=fields: load(state, mem, f), 10 * args.repeat)
        rows[name] = t
        rows[f"{name}: summary"] = {"us": t["median_s"] * 1e6}
    words = encode([Instruction.make(Opcode.CONV, in_addr=0, wgt_addr=0, bias_addr=0,
                                     out_addr=0, rows=4, cols=56, ic=64, oc=64)] * 10_000)
    decoding = measure(lambda: decode(words), max(3, args.repeat // 4))
    rows["decode 10k instructions"] = decoding
    rows["decode per instruction"] = {"us": decoding["median_s"] / 10_000 * 1e6}
    report("CONV semantics per instruction", rows, args.json)


if __name__ == "__main__":
    main()
