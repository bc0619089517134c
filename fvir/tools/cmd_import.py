"""Import an ONNX model (opsets 9 to 21) and print it as dnn IR: one `func.func @main` whose
weights are referenced by name (`dnn.weight "conv1.weight"`), never inlined.

The model is checked with the ONNX checker, its constant shape arithmetic is folded and every
shape is made static. Flags: `-o OUT.mlir` writes the IR to a file instead of stdout;
`--shape NAME=1x3x224x224` (repeatable) fixes the shape of a graph input whose shape is
symbolic or unknown; `--weights OUT.npz` saves the weight values (a WeightStore) next to the
IR; `--generic` prints MLIR's generic op syntax instead of the readable custom syntax.
"""

import argparse
import sys
from io import StringIO
from pathlib import Path

from fvir.frontend.models import parse_shapes

HELP = "import an ONNX model and print its dnn IR"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.onnx", help="the ONNX model to import")
    parser.add_argument(
        "-o", "--output", metavar="OUT.mlir", help="write the IR here instead of to stdout"
    )
    parser.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help="static shape of graph input NAME, dims separated by 'x' (e.g. data=1x3x224x224)",
    )
    parser.add_argument("--weights", metavar="OUT.npz", help="save the weights to this .npz file")
    parser.add_argument(
        "--generic", action="store_true", help="print the generic op syntax (for debugging)"
    )


def run(args: argparse.Namespace) -> int:
    from xdsl.printer import Printer

    from fvir.frontend.onnx import import_model, load_model
    from fvir.tools.outputs import check_output_file, writing

    shapes = parse_shapes(args.shape)
    for path in (args.output, args.weights):
        if path:
            check_output_file(path)
    model = load_model(args.model)
    imported = import_model(model, shapes, name=Path(args.model).stem)

    text = StringIO()
    Printer(stream=text, print_generic_format=args.generic).print_op(imported.module)
    text.write("\n")
    if args.weights:
        imported.weights.save(args.weights)
    if args.output:
        with writing(args.output):
            Path(args.output).write_text(text.getvalue())
    else:
        sys.stdout.write(text.getvalue())
    return 0
