"""`WeightStore`: mapping behaviour, `.npz` persistence and the check against a module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType, f32, i1
from xdsl.ir import Block, Region

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import WeightStore, element_type, numpy_dtype


def module_with_weights(*weights: tuple[str, TensorType]) -> ModuleOp:
    block = Block()
    with ImplicitBuilder(block):
        values = [dnn.WeightOp(name, ty).output for name, ty in weights]
        func.ReturnOp(*values)
    fn = func.FuncOp("main", ([], [ty for _, ty in weights]), Region(block))
    return ModuleOp([fn])


def test_mapping_behaviour() -> None:
    a, b = np.zeros((2, 3), np.float32), np.arange(4, dtype=np.int64)
    store = WeightStore({"a": a})
    store["b"] = b
    assert len(store) == 2 and list(store) == ["a", "b"] and "a" in store and "c" not in store
    assert store["a"] is a  # stored as given, not copied
    assert dict(store.items()) == {"a": a, "b": b}
    assert store.nbytes == 2 * 3 * 4 + 4 * 8
    with pytest.raises(KeyError):
        store["c"]
    del store["a"]
    assert list(store) == ["b"]


def test_add_uniquifies_names() -> None:
    store = WeightStore()
    assert store.add("w", np.zeros(1)) == "w"
    assert store.add("w", np.ones(1)) == "w_1"
    assert store.add("w", np.ones(2)) == "w_2"
    assert list(store) == ["w", "w_1", "w_2"]
    assert store["w_1"][0] == 1.0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    # Names np.savez would mangle or reject: a path separator, `file`, `allow_pickle`.
    arrays = {
        "layer1/conv.weight": np.random.default_rng(0)
        .standard_normal((4, 3, 3, 3))
        .astype(np.float32),
        "file": np.arange(5, dtype=np.int32),
        "allow_pickle": np.array(7, np.int64),
        "mask": np.array([True, False]),
        "u8": np.array([255, 0], np.uint8),
    }
    path = tmp_path / "weights.bin"  # written exactly where asked, whatever the suffix
    WeightStore(arrays).save(path)
    assert path.exists()
    loaded = WeightStore.load(path)
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


def test_load_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.npz"
    with pytest.raises(
        UserError, match=r"^cannot read '.*missing.npz': No such file or directory$"
    ):
        WeightStore.load(missing)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(UserError, match=r"^'.*junk.npz' is not a weight file \(.npz\)$"):
        WeightStore.load(junk)
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros(3))
    with pytest.raises(UserError, match=r"is not a weight file"):
        WeightStore.load(bare)


def test_save_error(tmp_path: Path) -> None:
    target = tmp_path / "no-dir" / "w.npz"
    with pytest.raises(UserError, match=r"^cannot write '.*w.npz': No such file or directory$"):
        WeightStore({"a": np.zeros(1)}).save(target)


def test_check() -> None:
    module = module_with_weights(
        ("w", TensorType(f32, [2, 3])), ("idx", TensorType(IntegerType(64), [4]))
    )
    WeightStore({"w": np.zeros((2, 3), np.float32), "idx": np.zeros(4, np.int64)}).check(module)
    with pytest.raises(UserError, match=r"^weight 'idx' is not in the weight store$"):
        WeightStore({"w": np.zeros((2, 3), np.float32)}).check(module)
    with pytest.raises(
        UserError, match=r"^weight 'w' has shape 3x2 in the store, but the IR declares 2x3$"
    ):
        WeightStore({"w": np.zeros((3, 2), np.float32), "idx": np.zeros(4, np.int64)}).check(module)
    with pytest.raises(
        UserError,
        match=r"^weight 'idx' has dtype int32 in the store, but the IR declares i64 \(int64\)$",
    ):
        WeightStore({"w": np.zeros((2, 3), np.float32), "idx": np.zeros(4, np.int32)}).check(module)


def test_dtype_mapping_round_trips() -> None:
    ui8 = IntegerType(8, Signedness.UNSIGNED)
    assert element_type(np.uint8) == ui8 and numpy_dtype(ui8) == np.dtype(np.uint8)
    assert element_type(np.int8) == IntegerType(8)  # signless
    assert element_type(np.bool_) == i1 and numpy_dtype(i1) == np.dtype(np.bool_)
    for dtype in (
        "float16",
        "float32",
        "float64",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
    ):
        assert numpy_dtype(element_type(np.dtype(dtype))) == np.dtype(dtype)
    with pytest.raises(UserError, match=r"^unsupported element type complex64$"):
        element_type(np.complex64)
