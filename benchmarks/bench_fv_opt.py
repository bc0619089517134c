"""Benchmark: `fv-opt` start-up time and parse + verify + print of a 10k-op dnn module.

    python benchmarks/bench_fv_opt.py [--ops 10000] [--repeat 5] [--json]

Start-up is measured end to end (`fv-opt` on a one-op file, in a subprocess) next to plain
`xdsl-opt` on the same file, so the ratio shows what fvir adds. The 10k-op module is a chain of
conv2d / relu / add blocks, parsed, verified and printed in process (what `fv-opt FILE` does
after start-up).
"""

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from common import doc_summary, measure, report
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.parser import Parser
from xdsl.printer import Printer

from fvir.ir.dnn import DNN

T = "tensor<1x16x14x14xf32>"
W = "tensor<16x16x3x3xf32>"


def dnn_module(n_ops: int) -> str:
    """A chain of (weight, conv2d, relu, add) blocks with about `n_ops` ops."""
    lines = [f"func.func @main(%x: {T}) -> {T} {{"]
    prev = "%x"
    for i in range(n_ops // 4):
        lines += [
            f'  %w{i} = dnn.weight "conv{i}.w" : {W}',
            f"  %c{i} = dnn.conv2d {prev}, %w{i} strides [1, 1] pads [1, 1, 1, 1] "
            f"dilations [1, 1] : ({T}, {W}) -> {T}",
            f"  %r{i} = dnn.relu %c{i} : {T}",
            f"  %a{i} = dnn.add %r{i}, {prev} : ({T}, {T}) -> {T}",
        ]
        prev = f"%a{i}"
    lines.append(f"  func.return {prev} : {T}\n}}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    bindir = Path(sys.executable).parent
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.mlir"
        small.write_text(dnn_module(4))
        for tool in ("xdsl-opt", "fv-opt"):
            cmd = [str(bindir / tool), str(small)]
            rows[f"{tool} start-up (4-op file)"] = measure(
                lambda cmd=cmd: subprocess.run(cmd, check=True, capture_output=True), args.repeat
            )
    base = rows["xdsl-opt start-up (4-op file)"]["median_s"]
    rows["fv-opt / xdsl-opt start-up"] = {
        "ratio": rows["fv-opt start-up (4-op file)"]["median_s"] / base
    }

    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    text = dnn_module(args.ops)
    module = Parser(ctx, text).parse_module()
    n = sum(1 for _ in module.walk())
    rows[f"parse ({n} ops)"] = measure(lambda: Parser(ctx, text).parse_module(), args.repeat, 0)
    rows["verify"] = measure(module.verify, args.repeat)

    def print_module() -> None:
        Printer(stream=io.StringIO()).print_op(module)

    rows["print"] = measure(print_module, args.repeat)
    def end_to_end() -> None:
        parsed = Parser(ctx, text).parse_module()
        parsed.verify()
        Printer(stream=io.StringIO()).print_op(parsed)

    rows["parse + verify + print"] = measure(end_to_end, args.repeat, 0)
    report("fv-opt", rows, args.json)


if __name__ == "__main__":
    main()
