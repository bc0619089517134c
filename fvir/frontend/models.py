"""Naming a model: an `.onnx` file or a zoo name, and static input shapes (`NAME=1x3x224x224`).

One helper, so that `fv import`, `fv run`, `fv compile`, `fv cloud` scenarios and the rest
accept the same things and fail with the same one-line messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fvir.errors import UserError

if TYPE_CHECKING:
    import onnx

_SHAPE = re.compile(r"(?P<name>.+)=(?P<dims>[0-9]+(?:x[0-9]+)*)")


def parse_shapes(specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """`NAME=1x3x224x224` strings (the repeatable `--shape` flag) -> {NAME: (1, 3, 224, 224)}."""
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        match = _SHAPE.fullmatch(spec)
        if match is None:
            raise UserError(
                f"bad --shape '{spec}': expected NAME=DIMS with dims separated by 'x', "
                "e.g. data=1x3x224x224"
            )
        name = match["name"]
        if name in shapes:
            raise UserError(f"--shape gives input '{name}' twice")
        shapes[name] = tuple(int(d) for d in match["dims"].split("x"))
        if 0 in shapes[name]:
            raise UserError(f"bad --shape '{spec}': every dim must be at least 1")
    return shapes


def load_onnx_or_zoo(spec: str) -> tuple[onnx.ModelProto, str]:
    """The model named by `spec` and its name: an existing file is read as ONNX (name: the
    file's stem); otherwise a zoo model name builds that model (seed 0). Anything else is a
    one-line `UserError`."""
    from fvir import zoo
    from fvir.frontend.onnx import load_model

    path = Path(spec)
    if path.is_file():
        return load_model(path), path.stem
    if spec in zoo.MODELS:
        return zoo.build(spec), spec
    if path.suffix == ".onnx" or path.exists():
        return load_model(path), path.stem  # the reader's own error: missing file, directory
    raise UserError(
        f"'{spec}' is neither an ONNX file nor a zoo model (zoo: {', '.join(zoo.MODELS)})"
    )


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The model's real inputs (graph inputs that are not initializers), in ONNX order."""
    initializers = {t.name for t in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in initializers]


def set_input_shapes(model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]) -> None:
    """Give graph inputs the static shapes of `--shape` flags, in place, for consumers that
    take a bare ModelProto. A dim the model fixes must agree; symbolic dims are replaced."""
    inputs = {vi.name: vi for vi in graph_inputs(model)}
    for name, dims in shapes.items():
        if name not in inputs:
            raise UserError(
                f"shape given for unknown input '{name}' (graph inputs: {', '.join(inputs)})"
            )
        tt = inputs[name].type.tensor_type
        text = "x".join(map(str, dims))
        if tt.HasField("shape"):
            model_dims = tt.shape.dim
            if len(model_dims) != len(dims):
                raise UserError(
                    f"shape {text} given for input '{name}' has rank {len(dims)}, but the "
                    f"model's input has rank {len(model_dims)}"
                )
            for i, (d, given) in enumerate(zip(model_dims, dims, strict=True)):
                if d.HasField("dim_value") and d.dim_value != given:
                    raise UserError(
                        f"shape {text} given for input '{name}' disagrees with the model's "
                        f"dim {i} = {d.dim_value}"
                    )
        tt.shape.ClearField("dim")
        for given in dims:
            tt.shape.dim.add().dim_value = int(given)
