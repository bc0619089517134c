"""A model's input values: read from `.npy` files (`fv run --input NAME=FILE.npy`) or drawn
from a seed, with one-line errors for every bad file or value.

1. `read_inputs` loads each `NAME=FILE.npy` with `allow_pickle=False` (a pickle is never
   unpickled) and accepts one plain numeric array per file: an empty file, an `.npz` archive, a
   structured, object, string or complex array is a one-line `UserError`.
2. `input_shapes` merges `--shape` flags with the shapes of the given arrays, after checking
   that every given name is an input of the model.
3. `make_inputs` puts them in the model's order, checks each given array's shape and casts it
   to the input's dtype, and draws the others from the seed: standard normal for float inputs
   (drawn as float32 whatever the width, so a seed means the same values everywhere), zeros for
   integer and bool ones (indices and flags, where a random value may be out of range), as
   `fvir.calibration.random_inputs` does.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from fvir.errors import UserError

_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float


def check_seed(seed: int, flag: str = "--seed") -> int:
    """A seed numpy accepts (non-negative), or a one-line `UserError`."""
    if seed < 0:
        raise UserError(f"{flag} must be non-negative, got {seed}")
    return seed


def read_array(name: str, path: Path) -> np.ndarray:
    """One `.npy` file holding a plain numeric array, for input `name`."""
    what = f"--input {name}: '{path}'"
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"--input {name}: no such file '{path}'") from None
    except IsADirectoryError:
        raise UserError(f"{what} is a directory, not a .npy file") from None
    except EOFError:
        raise UserError(f"{what} is empty, not a .npy array") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        # np.load's ValueError covers pickles ("allow_pickle=False"), object arrays and bytes
        # that are no numpy format at all.
        raise UserError(f"{what} is not a .npy array ({str(exc).splitlines()[0]})") from None
    if not isinstance(loaded, np.ndarray):  # an .npz archive
        loaded.close()
        raise UserError(f"{what} is an .npz archive: give one .npy file per input")
    if loaded.dtype.kind not in _NUMERIC_KINDS:
        raise UserError(f"{what} has dtype {loaded.dtype}: expected a bool, integer or float "
                        "array")
    return loaded


def read_inputs(specs: Sequence[str]) -> dict[str, np.ndarray]:
    """`NAME=FILE.npy` flags -> arrays (see `read_array`)."""
    arrays: dict[str, np.ndarray] = {}
    for spec in specs:
        match = re.fullmatch(r"(?P<name>[^=]+)=(?P<path>.+)", spec)
        if match is None:
            raise UserError(f"bad --input '{spec}': expected NAME=FILE.npy")
        name = match["name"]
        if name in arrays:
            raise UserError(f"--input gives input '{name}' twice")
        arrays[name] = read_array(name, Path(match["path"]))
    return arrays


def _check_names(given: Mapping[str, np.ndarray], names: Sequence[str]) -> None:
    for name in given:
        if name not in names:
            raise UserError(f"--input names unknown input '{name}' "
                            f"(the model's inputs: {', '.join(names)})")


def input_shapes(names: Sequence[str], shapes: Mapping[str, tuple[int, ...]],
                 given: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """The static shapes to import with: `--shape` flags, and each given array's shape."""
    _check_names(given, names)
    merged = dict(shapes)
    for name, value in given.items():
        merged.setdefault(name, tuple(value.shape))
    return merged


def make_inputs(names: Sequence[str], shapes: Sequence[tuple[int, ...]],
                given: Mapping[str, np.ndarray], seed: int,
                dtypes: Sequence[np.dtype] | None = None) -> dict[str, np.ndarray]:
    """Every input in the model's order (see the module docstring); `dtypes` defaults to
    float32."""
    _check_names(given, names)
    rng = np.random.default_rng(check_seed(seed))
    out: dict[str, np.ndarray] = {}
    for i, (name, shape) in enumerate(zip(names, shapes, strict=True)):
        dtype = np.dtype(np.float32) if dtypes is None else np.dtype(dtypes[i])
        if any(d < 0 for d in shape):
            raise UserError(f"input '{name}' has shape {'x'.join(map(str, shape))}: a "
                            "negative dim (give a static shape with --shape)")
        if name in given:
            value = given[name]
            if tuple(value.shape) != tuple(shape):
                want, got = "x".join(map(str, shape)), "x".join(map(str, value.shape))
                raise UserError(f"--input {name} has shape {got or 'scalar'}, the model "
                                f"takes {want}")
            with np.errstate(over="ignore", invalid="ignore"):
                out[name] = value.astype(dtype, copy=False)
            continue
        try:
            if dtype.kind == "f":
                out[name] = rng.standard_normal(shape, dtype=np.float32).astype(dtype,
                                                                                copy=False)
            else:
                out[name] = np.zeros(shape, dtype)
        except (MemoryError, ValueError) as exc:
            raise UserError(f"cannot make input '{name}' of shape "
                            f"{'x'.join(map(str, shape))}: {exc}") from None
    return out
