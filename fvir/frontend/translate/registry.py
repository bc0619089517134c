"""The table of ONNX op translators and its registration decorator.

A translator is `fn(importer, *inputs, **attributes)`: the node's inputs positionally (numpy
arrays for constants, SSA values otherwise, None where absent), its attributes as typed keyword
arguments with ONNX's defaults; it builds dnn ops and returns their results (or constants, or
None for an output it does not produce).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Translator = Callable[..., Any]

OPS: dict[str, Translator] = {}
"""ONNX op type -> translator building dnn ops."""

NO_FOLD: set[str] = set()
"""Op types whose translator adapts an older opset's meaning that the op's ONNX kernel does not
have (the version converter keeps these nodes unchanged): they are translated even when every
input is a constant."""


def translator(*op_types: str, no_fold: bool = False) -> Callable[[Translator], Translator]:
    def register(fn: Translator) -> Translator:
        for op_type in op_types:
            assert op_type not in OPS, f"two translators for {op_type}"
            OPS[op_type] = fn
            if no_fold:
                NO_FOLD.add(op_type)
        return fn

    return register
