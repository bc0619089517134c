"""Build the zoo's DNNs as ONNX files (VGG-16, ResNet-18/50, MobileNetV2/V3, GoogLeNet,
EfficientNet-B0, RegNetY-400MF, ResNeXt-50, DenseNet-121, ConvNeXt-T, a U-Net, a stacked LSTM,
a stacked GRU, a CRNN, ViT and BERT), with real layer shapes and seeded random weights.

`fv zoo list` shows each model's kind, input shape, parameters and multiply-accumulates;
`fv zoo build NAME -o FILE.onnx [--seed N]` writes one (the same name and seed always give the
same bytes). No download is involved: the graphs are built from the published layer tables.
"""

import argparse
import json

from fvir.errors import UserError

HELP = ("list and build the built-in model zoo (classic and modern CNNs, a U-Net, RNNs, ViT, "
        "BERT)")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=type(parser)
    )
    ls = sub.add_parser("list", help="list the models with their size and cost")
    ls.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    build = sub.add_parser("build", help="write one model as an ONNX file")
    build.add_argument("name", help="model name (see 'fv zoo list')")
    build.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="output file")
    build.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")


def _si(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _list(as_json: bool) -> int:
    from fvir import zoo

    rows = []
    for e in zoo.list_models():
        s = zoo.stats(e.name)
        rows.append(
            {
                "name": e.name,
                "kind": e.kind,
                "input_shape": list(e.input_shape),
                "params": s.params,
                "macs": s.macs,
                "description": e.description,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [("NAME", "KIND", "INPUT", "PARAMS", "MACS", "DESCRIPTION")]
    for r in rows:
        shape = "x".join(map(str, r["input_shape"]))
        table.append(
            (r["name"], r["kind"], shape, _si(r["params"]), _si(r["macs"]), r["description"])
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        cells = [
            c.rjust(w) if i in (3, 4) else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ]
        print("  ".join([*cells, row[5]]))
    return 0


def _build(name: str, output: str, seed: int) -> int:
    from fvir import zoo
    from fvir.tools.outputs import check_output_file, writing
    from fvir.tools.progress import StageProgress

    if seed < 0:
        raise UserError(f"--seed must be non-negative, got {seed}")
    check_output_file(output)
    with StageProgress(f"fv zoo build {name}", total=3) as progress:
        progress("build")
        model = zoo.build(name, seed)
        progress("serialize")
        data = model.SerializeToString()
        progress("write", output)
        with writing(output), open(output, "wb") as f:
            f.write(data)
    print(f"wrote {output}: {name}, seed {seed}, {len(data) / 1e6:.1f} MB")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list(args.json)
    return _build(args.name, args.output, args.seed)
