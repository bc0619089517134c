"""`WeightStore`: the tensors a dnn module refers to by name.

The IR never holds weights: `dnn.weight "conv1.weight" : tensor<64x3x7x7xf32>` names an array
in a `WeightStore`, which keeps printing, parsing and rewriting the IR fast however big the
model is. The store is a plain mapping of name -> numpy array, saved as an uncompressed `.npz`
(one `.npy` member per weight, so any numpy can read it). Arrays are kept as given: float32
weights, int64/int32 integer tensors, and so on.

This module also owns the one mapping between numpy dtypes and xDSL element types, which
`check` uses and the importer and executors share:

    float16/32/64 -> f16/f32/f64
    int8/16/32/64 -> i8/i16/i32/i64  (signless, the MLIR convention for ONNX's signed ints)
    uint8/16/32/64 -> ui8/ui16/ui32/ui64  (unsigned: keeps wrap-around semantics recoverable)
    bool -> i1
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Protocol

import numpy as np
from xdsl.dialects.builtin import (
    IntegerType,
    ModuleOp,
    Signedness,
    TensorType,
    f16,
    f32,
    f64,
    i1,
)
from xdsl.ir import Attribute

from fvir.errors import UserError


class WeightLookup(Protocol):
    """What an executor needs from a `WeightStore` (a plain dict also fits)."""

    def __getitem__(self, name: str, /) -> np.ndarray: ...

    def __contains__(self, name: object, /) -> bool: ...


_ELEMENT_TYPES: dict[np.dtype, Attribute] = {
    np.dtype(np.float16): f16,
    np.dtype(np.float32): f32,
    np.dtype(np.float64): f64,
    np.dtype(np.bool_): i1,
    **{np.dtype(f"int{w}"): IntegerType(w) for w in (8, 16, 32, 64)},
    **{np.dtype(f"uint{w}"): IntegerType(w, Signedness.UNSIGNED) for w in (8, 16, 32, 64)},
}
_DTYPES: dict[Attribute, np.dtype] = {t: d for d, t in _ELEMENT_TYPES.items()}


def element_type(dtype: np.dtype | type) -> Attribute:
    """The xDSL element type of a numpy dtype (UserError if fvir has none for it)."""
    dt = np.dtype(dtype)
    if dt not in _ELEMENT_TYPES:
        raise UserError(f"unsupported element type {dt.name}")
    return _ELEMENT_TYPES[dt]


def numpy_dtype(element: Attribute) -> np.dtype:
    """The numpy dtype of an xDSL element type (UserError if fvir has none for it)."""
    if element not in _DTYPES:
        raise UserError(f"unsupported element type {element}")
    return _DTYPES[element]


def tensor_type(array: np.ndarray) -> TensorType:
    """The `tensor<...>` type of a numpy array."""
    return TensorType(element_type(array.dtype), list(array.shape))


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "scalar"


class WeightStore(MutableMapping[str, np.ndarray]):
    """Name -> numpy array, with `.npz` persistence and a consistency check against a module."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None):
        self._arrays: dict[str, np.ndarray] = {}
        for name, array in (arrays or {}).items():
            self[name] = array

    # -- mapping protocol
    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __setitem__(self, name: str, array: np.ndarray) -> None:
        if not isinstance(name, str) or not name:
            raise UserError(f"weight names must be non-empty strings, got {name!r}")
        self._arrays[name] = array if isinstance(array, np.ndarray) else np.asarray(array)

    def __delitem__(self, name: str) -> None:
        del self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        return f"WeightStore({len(self)} arrays, {self.nbytes} bytes)"

    # -- helpers
    def add(self, name: str, array: np.ndarray) -> str:
        """Store `array` under `name`, or `name_1`, `name_2`, ... if taken; return the name."""
        unique, n = name, 0
        while unique in self._arrays:
            n += 1
            unique = f"{name}_{n}"
        self[unique] = array
        return unique

    @property
    def nbytes(self) -> int:
        """Total size of the arrays in bytes."""
        return sum(a.nbytes for a in self._arrays.values())

    def save(self, path: str | Path) -> None:
        """Write an uncompressed `.npz` at exactly `path` (np.savez would append `.npz` and
        reject weight names such as `file`)."""
        try:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name, array in self._arrays.items():
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                        np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)
        except OSError as exc:
            raise UserError(f"cannot write '{path}': {exc.strerror or exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> WeightStore:
        """Read a `.npz` written by `save` (or by np.savez)."""
        not_npz = UserError(f"'{path}' is not a weight file (.npz)")
        try:
            loaded = np.load(path, allow_pickle=False)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise UserError(f"cannot read '{path}': {exc.strerror}") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            # np.load raises ValueError for pickles and for bytes that are not numpy at all.
            raise not_npz from None
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
            raise not_npz
        try:
            with loaded:
                return cls({name: loaded[name] for name in loaded.files})
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # a damaged member
            raise not_npz from None

    def check(self, module: ModuleOp) -> None:
        """Every `dnn.weight` in `module` must name an array of its declared shape and dtype."""
        from fvir.ir.dnn import WeightOp

        for op in module.walk():
            if not isinstance(op, WeightOp):
                continue
            name, ty = op.sym.data, op.output.type
            assert isinstance(ty, TensorType)
            if name not in self._arrays:
                raise UserError(f"weight '{name}' is not in the weight store")
            array = self._arrays[name]
            shape = tuple(ty.get_shape())
            if array.shape != shape:
                raise UserError(
                    f"weight '{name}' has shape {_dims(array.shape)} in the store, "
                    f"but the IR declares {_dims(shape)}"
                )
            want = numpy_dtype(ty.element_type)
            if array.dtype != want:
                raise UserError(
                    f"weight '{name}' has dtype {array.dtype.name} in the store, "
                    f"but the IR declares {ty.element_type} ({want.name})"
                )
