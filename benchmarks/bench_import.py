"""Benchmark: ONNX import of ResNet-50 (ModelProto -> dnn module + WeightStore) and printing
its IR, the two halves of `fv import`; the target for each is under 1 s.

    python benchmarks/bench_import.py [--model resnet50] [--repeat 5] [--json]

The model comes from `fvir.zoo` (real layer shapes, seeded random weights, about 100 MB); if
the zoo is missing, an equivalent ResNet-50 layout is built here. Besides the two targets the
table shows loading + checking the saved file and the whole `fv import` in process.
"""

import argparse
import io
import tempfile
from pathlib import Path

import numpy as np
import onnx
from common import doc_summary, measure, report
from onnx import TensorProto, helper, numpy_helper
from xdsl.printer import Printer

from fvir.frontend.onnx import import_model, load_model
from fvir.tools.fv import main as fv_main


def resnet50_layout(seed: int = 0) -> onnx.ModelProto:
    """ResNet-50 v1 (bottlenecks 3-4-6-3, unfused BatchNorm) with random weights."""
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def weight(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name))
        return name

    def conv_bn(x: str, name: str, cin: int, cout: int, k: int, stride: int, relu: bool) -> str:
        w = weight(f"{name}.weight", cout, cin, k, k)
        nodes.append(
            helper.make_node(
                "Conv", [x, w], [f"{name}.conv"], strides=[stride] * 2, pads=[k // 2] * 4
            )
        )
        bn = [weight(f"{name}.bn.{p}", cout) for p in ("scale", "bias", "mean", "var")]
        nodes.append(helper.make_node("BatchNormalization", [f"{name}.conv", *bn], [f"{name}.bn"]))
        if not relu:
            return f"{name}.bn"
        nodes.append(helper.make_node("Relu", [f"{name}.bn"], [f"{name}.relu"]))
        return f"{name}.relu"

    x = conv_bn("input", "conv1", 3, 64, 7, 2, True)
    nodes.append(
        helper.make_node(
            "MaxPool", [x], ["pool"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
        )
    )
    x, cin = "pool", 64
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512), strict=True)):
        for b in range(blocks):
            name, stride = f"layer{stage + 1}.{b}", 2 if b == 0 and stage > 0 else 1
            y = conv_bn(x, f"{name}.conv1", cin, width, 1, 1, True)
            y = conv_bn(y, f"{name}.conv2", width, width, 3, stride, True)
            y = conv_bn(y, f"{name}.conv3", width, 4 * width, 1, 1, False)
            short = x if b else conv_bn(x, f"{name}.down", cin, 4 * width, 1, stride, False)
            nodes.append(helper.make_node("Add", [y, short], [f"{name}.add"]))
            nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"]))
            x, cin = f"{name}.out", 4 * width
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    fc = [weight("fc.weight", 1000, 2048), weight("fc.bias", 1000)]
    nodes.append(helper.make_node("Gemm", ["flat", *fc], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def build(name: str) -> tuple[onnx.ModelProto, str]:
    try:
        from fvir import zoo
    except ImportError:
        zoo = None
    if zoo is not None:
        return zoo.build(name), f"fvir.zoo {name}"
    if name != "resnet50":
        raise SystemExit(f"fvir.zoo is not available to build '{name}'")
    return resnet50_layout(), "built-in ResNet-50 layout"


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--model", default="resnet50", help="zoo model name (default resnet50)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    model, source = build(args.model)
    imported = import_model(model)
    n_ops = sum(1 for _ in imported.module.walk())
    title = (
        f"ONNX import: {source}, {len(model.graph.node)} nodes -> {n_ops} ops, "
        f"{imported.weights.nbytes / 1e6:.0f} MB of weights"
    )
    rows: dict[str, dict[str, float]] = {}
    rows["import (ModelProto -> module + weights)"] = measure(
        lambda: import_model(model), args.repeat
    )

    def print_ir() -> None:
        Printer(stream=io.StringIO()).print_op(imported.module)

    rows["print IR (what fv import prints)"] = measure(print_ir, args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.model}.onnx"
        onnx.save(model, path)
        rows["load + ONNX checker (file -> ModelProto)"] = measure(
            lambda: load_model(path), args.repeat
        )
        out = str(Path(tmp) / "out.mlir")
        rows["fv import FILE -o OUT (in process)"] = measure(
            lambda: fv_main(["import", str(path), "-o", out]), args.repeat
        )
    report(title, rows, args.json)
    if not args.json:
        for name in ("import (ModelProto -> module + weights)", "print IR (what fv import prints)"):
            verdict = "met" if rows[name]["median_s"] < 1.0 else "MISSED"
            print(f"target < 1 s for {name.split(' (')[0]}: {verdict}")


if __name__ == "__main__":
    main()
