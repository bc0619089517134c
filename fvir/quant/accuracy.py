"""How close one set of outputs comes to another: `compare` scores int8 outputs against float
ones (cosine similarity and max absolute error, over all outputs flattened together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
