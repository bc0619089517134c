"""`tile.moves_no_bytes`, the test `dnn-tile` turns layout chains into `tile.view`s by, against
numpy: random chains of transposes and reshapes over distinct values, where a chain moves no
byte exactly when the result's DDR bytes (NHWC for a batch-1 image, row-major otherwise) equal
the input's."""

from __future__ import annotations

from math import prod

import numpy as np
import pytest

from fvir.ir.tile import moves_no_bytes


def ddr_bytes(a: np.ndarray) -> np.ndarray:
    """The order fvir lays a tensor out in DDR (docs/ARCHITECTURE.md): NHWC images."""
    if a.ndim == 4 and a.shape[0] == 1:
        a = a.transpose(0, 2, 3, 1)
    return a.reshape(-1)


def random_chain(rng: np.random.Generator, shape: tuple[int, ...]) -> list[tuple[str, tuple]]:
    steps: list[tuple[str, tuple]] = []
    for _ in range(rng.integers(1, 4)):
        if rng.random() < 0.5:
            steps.append(("transpose", tuple(int(p) for p in rng.permutation(len(shape)))))
            shape = tuple(shape[p] for p in steps[-1][1])
        else:
            n = prod(shape)
            options = [(1, a, b, n // (a * b)) for a in range(1, n + 1) if n % a == 0
                       for b in range(1, n // a + 1) if (n // a) % b == 0]
            options += [(n // d, d) for d in range(1, n + 1) if n % d == 0]
            shape = tuple(options[rng.integers(len(options))])
            steps.append(("reshape", shape))
    return steps


@pytest.mark.parametrize("seed", range(200))
def test_moves_no_bytes_is_what_numpy_moves(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = ((1, *rng.integers(1, 5, 3).tolist()) if rng.random() < 0.7
             else tuple(rng.integers(1, 7, 2).tolist()))
    steps = random_chain(rng, shape)
    x = rng.permutation(prod(shape)).reshape(shape)
    y = x
    for kind, arg in steps:
        y = y.transpose(arg) if kind == "transpose" else y.reshape(arg)
    same = bool((ddr_bytes(x) == ddr_bytes(y)).all())
    assert moves_no_bytes(shape, steps, y.shape) == same


def test_convnext_permutes_move_no_bytes() -> None:
    # image -> rows, rows -> image (two ways), and an image of one column -> a square one
    assert moves_no_bytes((1, 96, 56, 56), [("transpose", (0, 2, 3, 1)),
                                            ("reshape", (3136, 96))], (3136, 96))
    assert moves_no_bytes((3136, 96), [("reshape", (1, 56, 56, 96)),
                                       ("transpose", (0, 3, 1, 2))], (1, 96, 56, 56))
    assert moves_no_bytes((3136, 96), [("transpose", (1, 0)),
                                       ("reshape", (1, 96, 3136, 1))], (1, 96, 3136, 1))
    assert moves_no_bytes((1, 96, 3136, 1), [("reshape", (1, 96, 56, 56))], (1, 96, 56, 56))
    # ... but a plain reshape of an image to rows, or a flatten to a vector, moves bytes
    assert not moves_no_bytes((1, 96, 56, 56), [("reshape", (3136, 96))], (3136, 96))
    assert not moves_no_bytes((1, 512, 7, 7), [("reshape", (1, 25088))], (1, 25088))
    assert not moves_no_bytes((1, 4, 3, 3), [("reshape", (1, 36))], (1, 37))
