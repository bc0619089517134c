"""`fv run --check`: the simulator's outputs against the two oracles, and whether a float
mismatch is the model's conditioning rather than a defect.

1. int8 mode: the int8 reference executor on the quantized module must agree bit for bit.
2. Both modes: onnxruntime on the float model gives cosine, max absolute and max relative
   error (relative to max |onnxruntime|). A model onnxruntime cannot run has no float oracle:
   in int8 mode that is reported, in fp32 mode it fails the check.
3. fp32 mode must come within `FP32_MAX_REL_ERR`. When it does not, the check measures how
   much float32 rounding alone moves onnxruntime's own output: it reruns onnxruntime with
   every float input moved by one ulp (a seeded random direction per element, `DRAWS`
   draws) and takes the largest max relative change, `sensitivity`. If that is at least a
   tenth of the tolerance, the model amplifies rounding (a Softmax over logits of 1e10, say)
   so much that the comparison cannot tell a defect from a different summation order: the
   check reports `ill_conditioned` with the figure and passes, instead of calling it a
   mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fvir.errors import first_line
from fvir.quant.accuracy import compare

FP32_MAX_REL_ERR = 1e-4  # the fp32 mode's tolerance against onnxruntime
ILL_CONDITIONED = 0.1  # sensitivity / tolerance from which rounding alone explains a mismatch
DRAWS = 4  # one-ulp perturbations tried: one may happen to leave a near tie as it was


def errors(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> dict[str, float]:
    """Cosine, max absolute and max relative (to max |want|) error over all outputs."""
    with np.errstate(invalid="ignore", over="ignore"):
        acc = compare(want, got)
        scale = max((float(np.max(np.abs(w))) for w in want if w.size), default=0.0)
    if scale > 0 and np.isfinite(scale):
        rel = acc.max_abs_err / scale
    else:
        rel = 0.0 if acc.max_abs_err == 0 else float("inf")
    return {"cosine": acc.cosine, "max_abs_err": acc.max_abs_err, "max_rel_err": float(rel)}


def _one_ulp(inputs: Mapping[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, x in inputs.items():
        if x.dtype.kind == "f":
            toward = np.where(rng.random(x.shape) < 0.5, -np.inf, np.inf).astype(x.dtype)
            out[name] = np.nextafter(x, toward)
        else:
            out[name] = x
    return out


def sensitivity(session: Any, feed: Mapping[str, np.ndarray],
                reference: Sequence[np.ndarray]) -> float:
    """Max relative change of onnxruntime's outputs when every float input moves one ulp."""
    return max(errors(session.run(None, _one_ulp(feed, seed)), reference)["max_rel_err"]
               for seed in range(DRAWS))


def check_outputs(dtype: str, outputs: Sequence[np.ndarray], inputs: Mapping[str, np.ndarray],
                  model: Any, quantized: tuple[Any, Any] | None) -> dict[str, Any]:
    """The `--check` object: bit_exact, cosine, max_abs_err, max_rel_err, ok, and failure,
    onnxruntime, ill_conditioned/sensitivity when they apply (see the module docstring).
    `quantized` is (module, weights) before tiling; int8 mode needs it."""
    import onnxruntime as ort

    check: dict[str, Any] = {"bit_exact": None, "cosine": None, "max_abs_err": None,
                             "max_rel_err": None}
    failure = None
    session = feed = want = None
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its C++ warnings bypass Python's stderr
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        feed = {i.name: inputs[i.name] for i in session.get_inputs()}
        want = session.run(None, feed)
        check.update(errors(outputs, want))
    except Exception as exc:  # onnxruntime's own errors (an opset it dropped, say): no oracle
        check["onnxruntime"] = f"cannot run the model: {first_line(exc)}"
        if dtype != "int8":  # fp32 has no other oracle
            failure = f"onnxruntime {check['onnxruntime']}"
    if dtype == "int8":
        from fvir.reference.int8 import run as run_reference

        assert quantized is not None
        module, weights = quantized
        reference = run_reference(module, weights, list(inputs.values()))
        exact = len(reference) == len(outputs) and all(
            a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in zip(outputs, reference, strict=False))
        check["bit_exact"] = bool(exact)
        if not exact:
            with np.errstate(invalid="ignore", over="ignore"):
                diff = max(float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0))
                           for a, b in zip(outputs, reference, strict=False))
            failure = (f"int8 outputs differ from the int8 reference executor (max abs "
                       f"difference {diff:.6g})")
    elif failure is None and not check["max_rel_err"] <= FP32_MAX_REL_ERR:
        moved = sensitivity(session, feed, want)  # type: ignore[arg-type]
        if moved > 0 and moved >= ILL_CONDITIONED * FP32_MAX_REL_ERR:
            check["ill_conditioned"] = True
            check["sensitivity"] = moved
        else:
            failure = (f"fp32 outputs differ from onnxruntime: max relative error "
                       f"{check['max_rel_err']:.3g} > {FP32_MAX_REL_ERR:g}")
    check["ok"] = failure is None
    if failure is not None:
        check["failure"] = failure
    return check
