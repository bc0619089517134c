"""Calibration: the inputs a model is quantized for, and the activation ranges they produce.

Calibration runs the fp32 reference executor (`fvir.reference.executor.run`) and observes every
argument and op result of `@main`. By default the inputs are `samples` seeded standard-normal
tensors (the zoo models are normalized for such inputs); real data comes in as .npy / .npz
files (`load_calibration`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import AnyFloat, ModuleOp, TensorType
from xdsl.dialects.func import FuncOp
from xdsl.ir import SSAValue

from fvir.errors import UserError
from fvir.ir.dnn import round_half_up
from fvir.ir.functions import input_names, main_function
from fvir.ir.weights import WeightLookup, numpy_dtype
from fvir.reference.executor import run

Sample = dict[str, np.ndarray]


def _inputs(fn: FuncOp) -> list[tuple[str, TensorType]]:
    names = input_names(fn) or [str(i) for i in range(len(fn.body.block.args))]
    types = [arg.type for arg in fn.body.block.args]
    assert all(isinstance(t, TensorType) for t in types)
    return list(zip(names, types, strict=True))  # type: ignore[arg-type]


def random_inputs(module: ModuleOp, seed: int = 0, samples: int = 4) -> list[Sample]:
    """`samples` inputs for `@main`: standard normal for float inputs, zeros for others."""
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for _ in range(samples):
        sample: Sample = {}
        for name, ty in _inputs(main_function(module)):
            shape, dtype = tuple(ty.get_shape()), numpy_dtype(ty.element_type)
            if isinstance(ty.element_type, AnyFloat):
                sample[name] = rng.standard_normal(shape).astype(dtype)
            else:
                sample[name] = np.zeros(shape, dtype)
        out.append(sample)
    return out


def load_calibration(paths: Sequence[str | Path], module: ModuleOp) -> list[Sample]:
    """Calibration samples from files. A `.npy` holds one input of a single-input model, either
    of the input's shape (one sample) or with one more leading axis (a batch of samples). A
    `.npz` maps input names to arrays in the same way."""
    inputs = _inputs(main_function(module))
    samples: list[Sample] = []
    for path in paths:
        try:
            loaded = np.load(path, allow_pickle=False)
        except EOFError:
            raise UserError(f"cannot read calibration data '{path}': the file is empty") from None
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise UserError(f"cannot read calibration data '{path}': {exc}") from None
        if isinstance(loaded, np.ndarray):
            if len(inputs) != 1:
                raise UserError(
                    f"'{path}' is one array but the model takes {len(inputs)} inputs: "
                    "use a .npz keyed by input name"
                )
            arrays = {inputs[0][0]: loaded}
        else:
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
        samples += _split_samples(str(path), arrays, inputs)
    return samples


def _split_samples(
    path: str, arrays: Mapping[str, np.ndarray], inputs: list[tuple[str, TensorType]]
) -> list[Sample]:
    counts = set()
    batched: dict[str, np.ndarray] = {}
    for name, ty in inputs:
        if name not in arrays:
            raise UserError(f"'{path}' has no array for model input '{name}'")
        a, shape = arrays[name], tuple(ty.get_shape())
        if a.dtype.kind not in "biuf":  # complex, structured, strings: no silent cast
            raise UserError(f"'{path}': input '{name}' has dtype {a.dtype}, expected a bool, "
                            "integer or float array")
        if a.shape == shape:
            a = a[None]
        if a.shape[1:] != shape:
            raise UserError(
                f"'{path}': input '{name}' has shape {list(a.shape)}, expected {list(shape)} "
                "or [samples, ...]"
            )
        batched[name] = a.astype(numpy_dtype(ty.element_type))
        counts.add(a.shape[0])
    if len(counts) != 1:
        raise UserError(f"'{path}': inputs have different sample counts {sorted(counts)}")
    return [{k: a[i] for k, a in batched.items()} for i in range(counts.pop())]


def observe_range(
    module: ModuleOp,
    weights: WeightLookup,
    samples: Sequence[Sample],
    values: Collection[SSAValue] | None = None,
) -> dict[SSAValue, tuple[float, float]]:
    """(min, max) over all samples of every float tensor of `@main` (arguments and op
    results), or of `values` only."""
    ranges: dict[SSAValue, tuple[float, float]] = {}

    def observe(value: SSAValue, array: np.ndarray) -> None:
        if (values is not None and value not in values) or array.dtype.kind != "f":
            return
        if array.size:
            lo, hi = float(array.min()), float(array.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise UserError(f"calibration produced non-finite values in %{value.name_hint}")
            old = ranges.get(value, (lo, hi))
            ranges[value] = (min(lo, old[0]), max(hi, old[1]))

    for sample in samples:
        # Overflow to inf is reported by `observe` as one line; numpy's warning would repeat it.
        with np.errstate(over="ignore", invalid="ignore"):
            run(module, weights, sample, observe=observe)
    return ranges


@dataclass
class Candidates:
    """Quantization error of one value at candidate encodings (exponent F, zero point Z),
    over the calibration data."""

    fracs: list[int]
    sse: np.ndarray  # sum of squared errors per candidate
    clipped: np.ndarray  # saturated elements per candidate
    size: int = 0  # elements seen
    zeros: list[int] | None = None  # the candidates' zero points (None: all 0)

    def encoding(self, i: int) -> tuple[int, int]:
        """Candidate i as (F, Z)."""
        return self.fracs[i], 0 if self.zeros is None else self.zeros[i]


def quantization_errors(
    module: ModuleOp,
    weights: WeightLookup,
    samples: Sequence[Sample],
    candidates: Mapping[SSAValue, Sequence[int | tuple[int, int]]],
) -> dict[SSAValue, Candidates]:
    """For each value and each candidate encoding, an exponent F or (F, Z), the squared error
    of quantizing it (q = sat8(floor(x * 2**F + 0.5) + Z), x' = (q - Z) * 2**-F) and how many
    elements saturate, summed over the calibration samples."""
    out = {}
    for v, cs in candidates.items():
        pairs = [c if isinstance(c, tuple) else (c, 0) for c in cs]
        out[v] = Candidates([f for f, _ in pairs], np.zeros(len(pairs)),
                            np.zeros(len(pairs), np.int64), zeros=[z for _, z in pairs])

    def observe(value: SSAValue, array: np.ndarray) -> None:
        if (c := out.get(value)) is None:
            return
        # In the array's own float type: scaling by 2**F is exact, and so is round_half_up
        # (larger values than it rounds exactly saturate anyway); q - Z is small.
        x = array.ravel()
        c.size += x.size
        for i, f in enumerate(c.fracs):
            if f >= np.finfo(x.dtype).maxexp:  # 2**F beyond the array's float type: unusable
                c.sse[i] = np.inf
                continue
            z = c.encoding(i)[1]
            scale = x.dtype.type(2.0**f)
            with np.errstate(over="ignore"):  # a value beyond float range saturates: clipped
                q = round_half_up(x * scale)
            lo, hi = -128 - z, 127 - z  # the codes' range, zero point removed
            c.clipped[i] += np.count_nonzero(q < lo) + np.count_nonzero(q > hi)
            np.clip(q, lo, hi, out=q)
            q *= x.dtype.type(2.0**-f)
            q -= x
            c.sse[i] += float(np.dot(q, q))

    for sample in samples:
        run(module, weights, sample, observe=observe)
    return out
