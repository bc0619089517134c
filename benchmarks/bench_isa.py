"""Benchmark: encoding and decoding a ResNet-50-sized instruction stream (100k instructions).

    python benchmarks/bench_isa.py [--n 100000] [--repeat 5] [--json]

Reports medians of: decode to `Instruction` objects, encode back, the simulator's columnar
decode (`columns`) and the linker's vectorized segment patch of every LOAD/SAVE.
"""

import argparse

import numpy as np
from common import doc_summary, measure, report

from fvir.isa.encoding import columns, decode, encode, encode_columns, set_field
from fvir.isa.spec import SPECS, Opcode


def random_stream(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    parts = []
    ops = (Opcode.LOAD, Opcode.CONV, Opcode.SAVE, Opcode.POOL, Opcode.ELEW)
    for op in ops:
        m = n // len(ops)
        cols = {
            f.name: rng.integers(f.lo, f.hi + 1, m)
            if f.enum is None
            else rng.choice([int(e) for e in f.enum], m)
            for f in SPECS[op].fields
        }
        parts.append(encode_columns(op, cols, m))
    return np.concatenate(parts)[rng.permutation(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    words = random_stream(args.n)
    instrs = decode(words)
    is_mem = np.isin(words[:, 0] & 0xF, [int(Opcode.LOAD), int(Opcode.SAVE)])
    rows = {
        f"decode {args.n} instrs": measure(lambda: decode(words), args.repeat),
        "encode": measure(lambda: encode(instrs), args.repeat),
        "columns (all opcodes)": measure(
            lambda: [columns(words, op) for op in Opcode], args.repeat
        ),
        "patch seg of LOAD/SAVE": measure(
            lambda: set_field(words.copy(), (Opcode.LOAD, Opcode.SAVE), "seg", 1,
                              np.flatnonzero(is_mem)),
            args.repeat,
        ),
    }
    report("isa encode/decode", rows, args.json)


if __name__ == "__main__":
    main()
