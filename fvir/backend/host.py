"""The simulated host: runs a package's host layers (the ops the accelerator does not run).

A host layer carries its computation as dnn IR text (`Layer.host_ir`). The simulator does not
interpret dnn IR itself: the interpreter is given to it (`Machine(pool, host=...)`,
`run_package(..., host=...)`); `fv run`, the ONNX backend and the tests pass the int8
reference's `run`, so the backend never imports the oracle it is checked against.

1. Parse the layer's IR (builtin, func, arith and dnn dialects).
2. In fp32 mode, drop the `dnn.quantize` -> `dnn.dequantize` round trips (fp32 keeps real
   values unrounded everywhere, so a host layer's int8 grid is the identity too).
3. Read the inputs from DDR in the function's argument dtypes, run the interpreter with the
   package's host weights, write the results back to the layer's output tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from fvir.backend.memory import Memory
from fvir.backend.tensors import read_tensor, write_tensor
from fvir.errors import UserError
from fvir.ifp.package import Layer, Package

if TYPE_CHECKING:
    from xdsl.dialects.builtin import ModuleOp

# (module with one func.func @main, argument values, the weights its `dnn.weight` ops read)
# -> result values, in @main's order.
HostInterpreter = Callable[
    ["ModuleOp", Sequence[np.ndarray], Mapping[str, np.ndarray]], Sequence[np.ndarray]
]


def run_host_layer(layer: Layer, package: Package, mem: Memory,
                   host: HostInterpreter | None) -> None:
    """Run host layer `layer` of `package` on `mem` with the interpreter `host`."""
    if host is None:
        raise UserError(f"package '{package.name}' has host layer '{layer.name}' and this "
                        f"simulator was given no host interpreter (host=...; fv run passes "
                        f"the int8 reference's)")
    from fvir.ir.functions import main_function, parse_host_ir, signature_dtypes

    module = parse_host_ir(layer.host_ir, f"host layer '{layer.name}'")
    if mem.mode == "fp32":
        _skip_grid_round_trips(module)
    dtypes, _ = signature_dtypes(main_function(module))
    args = [read_tensor(mem, package.tensors[t]).astype(dtype, copy=False)
            for t, dtype in zip(layer.inputs, dtypes, strict=True)]
    results = host(module, args, package.host_weights)
    if len(results) != len(layer.outputs):
        raise UserError(f"host layer '{layer.name}' returns {len(results)} values for "
                        f"{len(layer.outputs)} output tensors")
    for t, value in zip(layer.outputs, results, strict=True):
        write_tensor(mem, package.tensors[t], value)


def _skip_grid_round_trips(module: ModuleOp) -> None:
    """Step 2 of the module docstring."""
    from fvir.ir.dnn import DequantizeOp, QuantizeOp

    for op in list(module.walk()):
        if isinstance(op, DequantizeOp) and isinstance(q := op.input.owner, QuantizeOp):
            op.results[0].replace_all_uses_with(q.input)
            op.detach()
            op.erase()
            if not q.results[0].uses:
                q.detach()
                q.erase()
