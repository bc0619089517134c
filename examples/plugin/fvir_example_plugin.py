"""An example fvir pass plugin: `dnn-annotate-macs` counts multiply-accumulates per layer.

Two ways to use it:

    fv-opt model.mlir --load-plugin examples/plugin/fvir_example_plugin.py -p dnn-annotate-macs
    pip install examples/plugin  # then plain `fv-opt` / `xdsl-opt -p dnn-annotate-macs`

The installed form registers `UNIVERSE` under the `xdsl.universe` entry point (see this
folder's pyproject.toml), so every xDSL tool in the environment sees the pass.
"""

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, TensorType
from xdsl.passes import ModulePass
from xdsl.universe import Universe

from fvir.ir import dnn


def layer_macs(op: dnn.Conv2dOp | dnn.DenseOp) -> int:
    """MACs of one conv2d (output elements x kernel volume) or dense layer."""
    out = op.output.type
    weight = op.weight.type
    assert isinstance(out, TensorType) and isinstance(weight, TensorType)
    if isinstance(op, dnn.Conv2dOp):
        return prod(out.get_shape()) * prod(weight.get_shape()[1:])
    in_features = weight.get_shape()[0 if op.trans_b is None else 1]
    return prod(out.get_shape()) * in_features


@dataclass(frozen=True)
class DnnAnnotateMacsPass(ModulePass):
    """Attach `dnn.macs` to every conv2d / dense op and the total to the module.

    Only layers with at least `min_macs` MACs are annotated.
    """

    name = "dnn-annotate-macs"

    min_macs: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        total = 0
        for layer in op.walk():
            if isinstance(layer, dnn.Conv2dOp | dnn.DenseOp):
                macs = layer_macs(layer)
                total += macs
                if macs >= self.min_macs:
                    layer.attributes["dnn.macs"] = IntegerAttr(macs, 64)
        op.attributes["dnn.total_macs"] = IntegerAttr(total, 64)


UNIVERSE = Universe(all_passes={DnnAnnotateMacsPass.name: lambda: DnnAnnotateMacsPass})
