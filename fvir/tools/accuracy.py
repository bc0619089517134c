"""The accuracy report: how close a zoo model's int8 form comes to its float form.

1. Import the zoo model and run the compile pipeline (`fvir.passes.fvir_compile`) up to
   quantization; keep the float module it has then (batchnorms folded, activations fused).
2. Quantize and partition it with the pipeline's own passes, for the target hardware.
3. Run the float and the int8 reference executors on a fresh seeded input, one the
   calibration never saw, and `compare` them.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import ModuleOp

from fvir import zoo
from fvir.calibration import random_inputs
from fvir.compiler import pipeline_context
from fvir.frontend.onnx import import_model
from fvir.hw import DEFAULT_HW, load_hw
from fvir.ir.weights import WeightStore
from fvir.passes.dnn_partition import host_ops
from fvir.passes.dnn_quantize import DnnQuantizePass
from fvir.passes.fvir_compile import QUANTIZED, compile_passes, run_passes
from fvir.quant.accuracy import Accuracy, compare
from fvir.reference import executor, int8


@dataclass(frozen=True)
class ZooResult:
    """`zoo_accuracy`'s answer: the accuracy and what the quantizer and partitioner did."""

    name: str
    accuracy: Accuracy
    host_ops: list[str]  # ops the partition leaves on the host, "op: reason"


@dataclass(frozen=True)
class QuantizedZoo:
    """A zoo model before and after quantization for a target (steps 1-2)."""

    float_module: ModuleOp
    int8_module: ModuleOp
    weights: WeightStore

    def accuracy(self, eval_seed: int) -> Accuracy:
        """Step 3: int8 against fp32 on a standard-normal input drawn from `eval_seed`."""
        (x,) = random_inputs(self.float_module, eval_seed, 1)
        return compare(executor.run(self.float_module, self.weights, x),
                       int8.run(self.int8_module, self.weights, x))


def quantize_zoo(name: str, hw: str = DEFAULT_HW, *, seed: int = 0,
                 samples: int = 4) -> QuantizedZoo:
    """Zoo model `name` quantized and partitioned for `hw` by the compile pipeline's passes,
    calibrated on `samples` inputs from `seed`, with its float form just before."""
    imported = import_model(zoo.build(name))
    passes = compile_passes(seed=seed, samples=samples)[:QUANTIZED]
    first_quant = next(i for i, p in enumerate(passes) if isinstance(p, DnnQuantizePass))
    ctx = pipeline_context(imported, load_hw(hw), None)
    run_passes(passes[:first_quant], ctx, imported.module)
    float_module = imported.module.clone()
    run_passes(passes[first_quant:], ctx, imported.module)
    return QuantizedZoo(float_module, imported.module, imported.weights)


def zoo_accuracy(name: str, hw: str = DEFAULT_HW, *, seed: int = 0, eval_seed: int = 1234,
                 samples: int = 4) -> ZooResult:
    """Zoo model `name` compiled for `hw` (calibrated on `samples` inputs from `seed`), int8
    against fp32 on a standard-normal input drawn from `eval_seed`."""
    q = quantize_zoo(name, hw, seed=seed, samples=samples)
    return ZooResult(name, q.accuracy(eval_seed),
                     [f"{p.op}: {p.reason}" for p in host_ops(q.int8_module)])
