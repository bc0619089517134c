"""Helpers over a model's function: which one is `@main`, its element types, its input names,
and the parse of a host layer's function text.

Every layer that reads a dnn module (passes, codegen, executors, tools) asks these instead of
walking the module itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute

from fvir.errors import UserError
from fvir.ir.weights import numpy_dtype


def main_function(module: ModuleOp) -> func.FuncOp:
    """The module's `@main` (or its only function)."""
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    for f in funcs:
        if f.sym_name.data == "main":
            return f
    if len(funcs) == 1:
        return funcs[0]
    raise UserError("the module has no func.func @main")


def signature_dtypes(fn: func.FuncOp) -> tuple[list[np.dtype], list[np.dtype]]:
    """The numpy element types of `fn`'s arguments and of its results."""
    def of(types: Sequence[Attribute]) -> list[np.dtype]:
        return [numpy_dtype(t.element_type) for t in types]  # type: ignore[attr-defined]

    return of(fn.function_type.inputs.data), of(fn.function_type.outputs.data)


def input_names(fn: func.FuncOp) -> list[str] | None:
    """The ONNX input names recorded by the importer (`dnn.input_names`), if any."""
    attr = fn.attributes.get("dnn.input_names")
    if not isinstance(attr, ArrayAttr):
        return None
    return [a.data for a in attr.data if isinstance(a, StringAttr)]


def parse_host_ir(text: str, where: str) -> ModuleOp:
    """A host layer's IR text (`Layer.host_ir`: builtin, func, arith and dnn ops) parsed;
    `where` names it in errors."""
    from xdsl.context import Context
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func
    from xdsl.parser import Parser

    from fvir.ir.dnn import DNN

    ctx = Context()
    for dialect in (Builtin, Func, Arith, DNN):
        ctx.load_dialect(dialect)
    return Parser(ctx, text, where).parse_module()
