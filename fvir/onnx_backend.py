"""ONNX Backend API for fvir (`onnx.backend.base.Backend`).

Lets ONNX's standard backend tests and users' own scripts run models through fvir:

    import fvir.onnx_backend as backend
    rep = backend.prepare(onnx.load("model.onnx"), device="CPU")
    (y,) = rep.run([x])

`prepare` imports the model into the dnn dialect (`fvir.frontend.onnx.import_model`);
`FvirBackendRep.run` executes it on the chosen device. Devices are a small table:

- "CPU" runs the numpy reference executor on the float model (no options).
- "SIM" compiles the model for the simulated accelerator (once per input shape, on first
  run; int8 scales calibrated on seeded random inputs) and runs it on the simulator
  (`fvir.backend.machine`). Options, given to `prepare`: `cores` (default 1), `hw` (a preset
  name, a TOML file or a `PoolConfig`; default `fvir.hw.DEFAULT_HW`), `dtype` ("int8", the hardware
  and the default, whose outputs carry quantization error; or "fp32", the same frames on real
  values, which match onnxruntime to ~1e-6), `seed` (calibration seed, default 0). After a
  run, `rep.last_report` holds the simulator's `RunReport` (cycles, latency, utilization).

      rep = backend.prepare(model, device="SIM", cores=4, dtype="fp32")

fvir compiles for static shapes. So a model is imported at `prepare` when its input shapes are
all known and no graph input decides a shape; otherwise it is imported at `run`, once per
distinct set of input shapes, with the graph inputs that decide shapes (Reshape's `shape`,
Slice's `starts`, ...) folded in as constants of the values given (once per distinct value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep, namedtupledict

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW
from fvir.reference import executor as reference

if TYPE_CHECKING:
    from fvir.frontend.onnx import ImportedModel

Inputs = Sequence[np.ndarray] | Mapping[str, np.ndarray] | np.ndarray
Executor = Callable[["ImportedModel", Sequence[np.ndarray], "FvirBackendRep"],
                    Sequence[np.ndarray]]


def _run_reference(imported: ImportedModel, inputs: Sequence[np.ndarray],
                   rep: FvirBackendRep) -> list[np.ndarray]:
    return reference.run(imported.module, imported.weights, inputs)


def _run_sim(imported: ImportedModel, inputs: Sequence[np.ndarray],
             rep: FvirBackendRep) -> list[np.ndarray]:
    """Compile (cached per imported model) and simulate on `rep.options`' cores and pool."""
    from fvir.backend.machine import simulate_package
    from fvir.compiler import compile_errors, compile_model
    from fvir.frontend.onnx import ImportedModel as Imported
    from fvir.hw import load_hw
    from fvir.hw.config import PoolConfig
    from fvir.ir.functions import main_function, signature_dtypes
    from fvir.ir.weights import WeightStore
    from fvir.reference.int8 import run_host

    opts = rep.options
    hw = opts.get("hw", DEFAULT_HW)
    pool = hw if isinstance(hw, PoolConfig) else load_hw(hw)
    key = id(imported)
    package = rep.compiled.get(key)
    if package is None:
        # The compiler rewrites the module in place: give it a copy, keep the import intact.
        copy = Imported(imported.module.clone(), WeightStore(dict(imported.weights.items())),
                        list(imported.input_names), list(imported.output_names))
        with compile_errors("the model", pool):
            package = compile_model(copy, pool, seed=int(opts.get("seed", 0)))
        rep.compiled[key] = package
    report = simulate_package(package, [np.asarray(x, np.float32) for x in inputs], pool,
                              cores=int(opts.get("cores", 1)), mode=opts.get("dtype", "int8"),
                              host=run_host)
    rep.last_report = report
    (tenant,) = report.tenants.values()
    if tenant.fault is not None:
        raise tenant.fault
    assert tenant.outputs is not None
    # DDR holds float32 and int8: give each output its model type back (like the CPU device).
    _, dtypes = signature_dtypes(main_function(imported.module))
    return [np.asarray(y).astype(dtype, copy=False)
            for y, dtype in zip(tenant.outputs, dtypes, strict=True)]


DEVICES: dict[str, Executor] = {
    "CPU": _run_reference,
    "SIM": _run_sim,
}
"""Device name (the part before an optional ':id') -> how to execute an imported model."""

DEVICE_OPTIONS: dict[str, frozenset[str]] = {
    "CPU": frozenset(),
    "SIM": frozenset({"cores", "hw", "dtype", "seed"}),
}
"""The `prepare` keyword options every device accepts."""

# ONNX operands whose VALUE the importer needs: op type -> input positions. Most decide the
# shape of a result; Dropout's ratio and training_mode decide whether it is the identity.
SHAPE_OPERANDS: dict[str, tuple[int, ...]] = {
    "Dropout": (1, 2),
    "Reshape": (1,),
    "Expand": (1,),
    "Tile": (1,),
    "ConstantOfShape": (0,),
    "Slice": (1, 2, 3, 4),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Pad": (1, 3),
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Split": (1,),
    "ReduceMean": (1,),
    "ReduceSum": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "Range": (0, 1, 2),
    "TopK": (1,),
    "OneHot": (1,),
}


def _device_kind(device: str) -> str:
    return str(device).split(":", 1)[0].upper()


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph's real inputs (older IR versions also list initializers as inputs)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def _static_shape(info: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    """The input's shape if every dimension is a known number, else None."""
    ty = info.type
    if not ty.HasField("tensor_type") or not ty.tensor_type.HasField("shape"):
        return None
    dims = ty.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return tuple(d.dim_value for d in dims)


def _shape_deciding_inputs(model: onnx.ModelProto) -> set[str]:
    """Graph inputs that feed a shape-deciding operand of a top-level node."""
    names = {i.name for i in _graph_inputs(model)}
    used: set[str] = set()
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        for pos in SHAPE_OPERANDS.get(node.op_type, ()):
            if pos < len(node.input) and node.input[pos] in names:
                used.add(node.input[pos])
    return used


def _freeze(model: onnx.ModelProto, values: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of `model` where the graph inputs in `values` are initializers."""
    frozen = onnx.ModelProto()
    frozen.CopyFrom(model)
    kept = [i for i in frozen.graph.input if i.name not in values]
    del frozen.graph.input[:]
    frozen.graph.input.extend(kept)
    frozen.graph.initializer.extend(
        numpy_helper.from_array(np.asarray(v), name) for name, v in values.items()
    )
    return frozen


def _tensor(name: str, value: Any) -> np.ndarray:
    """An input as a numpy array (ONNX's test data may hold TensorProtos); sequences of
    differently shaped tensors, maps and optionals are not fvir values."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    try:
        array = np.asarray(value)
    except ValueError:
        array = None
    if array is None or array.dtype == object:
        raise UserError(f"input '{name}' is not a tensor (fvir runs tensor inputs only)")
    return array


class FvirBackendRep(BackendRep):
    """A prepared model: `run(inputs)` returns its outputs in ONNX output order."""

    def __init__(self, model: onnx.ModelProto, device: str,
                 options: Mapping[str, Any] | None = None):
        self.model = model
        self.device = _device_kind(device)
        self.options: dict[str, Any] = dict(options or {})
        self.compiled: dict[int, Any] = {}  # SIM: package per imported model (by id)
        self.last_report: Any = None  # SIM: the simulator's RunReport of the last run
        self.input_names = [i.name for i in _graph_inputs(model)]
        self.output_names = [o.name for o in model.graph.output]
        self._frozen = _shape_deciding_inputs(model)
        self._static = not self._frozen and all(
            _static_shape(i) is not None for i in _graph_inputs(model)
        )
        self._imported: dict[Any, ImportedModel] = {}
        if self._static:
            self._imported[None] = self._import(model, None)

    @staticmethod
    def _import(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]] | None) -> ImportedModel:
        from fvir.frontend.onnx import import_model  # the importer pulls in the whole frontend

        return import_model(model, input_shapes=shapes)

    def _specialized(self, given: Mapping[str, np.ndarray]) -> ImportedModel:
        """The model imported for these input shapes and shape-deciding input values."""
        if self._static:
            return self._imported[None]
        frozen = {n: given[n] for n in self.input_names if n in self._frozen}
        key = (
            tuple((n, a.shape) for n, a in given.items()),
            tuple((n, a.dtype.str, a.tobytes()) for n, a in frozen.items()),
        )
        if key not in self._imported:
            model = _freeze(self.model, frozen) if frozen else self.model
            shapes = {n: a.shape for n, a in given.items() if n not in frozen}
            self._imported[key] = self._import(model, shapes)
        return self._imported[key]

    def _bind(self, inputs: Inputs) -> dict[str, np.ndarray]:
        """Inputs by position (a list, or one array for a one-input model) or by name."""
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        if isinstance(inputs, Mapping):
            missing = [n for n in self.input_names if n not in inputs]
            unknown = [n for n in inputs if n not in self.input_names]
            if missing:
                raise UserError(f"missing model input(s) {missing}")
            if unknown:
                raise UserError(f"unknown model input(s) {unknown}; inputs are {self.input_names}")
            return {n: _tensor(n, inputs[n]) for n in self.input_names}
        if len(inputs) != len(self.input_names):
            raise UserError(f"the model takes {len(self.input_names)} input(s), got {len(inputs)}")
        return {n: _tensor(n, a) for n, a in zip(self.input_names, inputs, strict=True)}

    def run(self, inputs: Inputs, **kwargs: Any) -> tuple[Any, ...]:
        if kwargs:
            raise UserError(f"unknown run option(s) {sorted(kwargs)}")
        given = self._bind(inputs)
        imported = self._specialized(given)
        # In the imported function's order (inputs folded into constants are not arguments).
        outputs = DEVICES[self.device](imported, [given[n] for n in imported.input_names], self)
        by_name = dict(zip(imported.output_names, outputs, strict=True))
        return namedtupledict("Outputs", self.output_names)(
            *(by_name[n] for n in self.output_names)
        )


class FvirBackend(Backend):
    """fvir as an ONNX backend: `prepare` imports, the returned rep runs on `device`."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> FvirBackendRep:
        if not cls.supports_device(device):
            raise UserError(f"unsupported device '{device}' (fvir has {', '.join(DEVICES)})")
        unknown = set(kwargs) - DEVICE_OPTIONS[_device_kind(device)]
        if unknown:
            raise UserError(f"unknown backend option(s) {sorted(unknown)} for device "
                            f"'{_device_kind(device)}'")
        if kwargs.get("dtype", "int8") not in ("int8", "fp32"):
            raise UserError(f"dtype must be 'int8' or 'fp32', got {kwargs['dtype']!r}")
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            raise UserError(f"invalid ONNX model: {str(exc).splitlines()[0]}") from None
        return FvirBackendRep(model, device, kwargs)

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any
    ) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return _device_kind(device) in DEVICES


prepare = FvirBackend.prepare
run_model = FvirBackend.run_model
supports_device = FvirBackend.supports_device
