"""How close the int8 model comes to the float one.

`compare` scores outputs (cosine similarity and max absolute error, over all outputs
flattened together); `zoo_accuracy` runs the whole static pipeline on a zoo model the way the
compiler does (import, fold batchnorm, fuse activations, canonicalize, quantize) and compares
the fp32 and int8 reference executors on a fresh seeded input, one the calibration never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fvir.reference.int8 import run


@dataclass(frozen=True)
class Accuracy:
    """int8 vs fp32 outputs: cosine similarity and the largest absolute difference."""

    cosine: float
    max_abs_err: float

    def __getitem__(self, key: str) -> float:  # compare(...)["cosine"] reads naturally too
        return float(getattr(self, key))


def compare(float_outputs: Sequence[np.ndarray], int8_outputs: Sequence[np.ndarray]) -> Accuracy:
    """Cosine similarity and max |a - b| of two lists of outputs, flattened and concatenated
    (float64 math). Two all-zero outputs have cosine 1; one all-zero output has cosine 0."""
    if len(float_outputs) != len(int8_outputs):
        raise ValueError(f"{len(float_outputs)} float outputs vs {len(int8_outputs)} int8 outputs")
    a = np.concatenate([np.asarray(x, np.float64).ravel() for x in float_outputs])
    b = np.concatenate([np.asarray(x, np.float64).ravel() for x in int8_outputs])
    if a.shape != b.shape:
        raise ValueError(f"outputs differ in size: {a.size} vs {b.size}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        cosine = 1.0 if na == nb else 0.0
    else:
        cosine = float(a @ b / (na * nb))
    return Accuracy(cosine, float(np.max(np.abs(a - b))) if a.size else 0.0)


@dataclass(frozen=True)
class ZooResult:
    """`zoo_accuracy`'s answer: the accuracy and what the quantizer and partitioner did."""

    name: str
    accuracy: Accuracy
    host_ops: list[str]  # ops the partition leaves on the host, "op: reason"


def zoo_accuracy(
    name: str,
    *,
    seed: int = 0,
    eval_seed: int = 1234,
    samples: int = 4,
    per_channel: bool = True,
    channel_group: int = 1,
) -> ZooResult:
    """Import zoo model `name`, run the static pipeline (fold-bn, fuse, canonicalize, quantize
    with `samples` calibration inputs from `seed`), and compare fp32 and int8 on a
    standard-normal input drawn from `eval_seed`."""
    from xdsl.context import Context

    from fvir import zoo
    from fvir.calibration import random_inputs
    from fvir.frontend.onnx import import_model
    from fvir.passes.dnn_canonicalize import DnnCanonicalizePass
    from fvir.passes.dnn_fold_batchnorm import fold_batchnorm
    from fvir.passes.dnn_fuse_activation import DnnFuseActivationPass
    from fvir.passes.dnn_partition import host_ops
    from fvir.passes.dnn_quantize import quantize

    imported = import_model(zoo.build(name))
    module, weights = imported.module, imported.weights
    fold_batchnorm(module, weights)
    DnnFuseActivationPass().apply(Context(), module)
    DnnCanonicalizePass().apply(Context(), module)
    float_module = module.clone()
    quantize(
        module,
        weights,
        seed=seed,
        samples=samples,
        per_channel=per_channel,
        channel_group=channel_group,
    )
    (x,) = random_inputs(float_module, eval_seed, 1)
    accuracy = compare(run(float_module, weights, x), run(module, weights, x))
    return ZooResult(name, accuracy, [f"{p.op}: {p.reason}" for p in host_ops(module)])
