"""The package cache (fvir/cache.py): hits, corrupt and stale entries (packages and stored
simulation results) rebuilt, atomic and umask-respecting writes, concurrent writers, keys, and
`fv cache` / `fv run` using it."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import onnx
import pytest
from compiler import models  # tests/compiler, on the path as a package

from fvir.cache import PackageCache, compile_cached, default_dir, model_digest, package_key
from fvir.cloud.library import ModelLibrary
from fvir.hw import TINY, load_hw
from fvir.ifp.fileformat import HEADER_SIZE, read_package
from fvir.tools.fv import main as fv_main


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "residual.onnx"
    onnx.save(models.residual(), path)
    return path


def compile_counting(cache, path, counter):
    def load():
        counter.append(1)
        return onnx.load(path), "residual"
    return compile_cached(str(path), TINY, cache, load, fp32_shadow=False)


def test_second_lookup_is_a_hit_with_the_same_package(tmp_path, onnx_file):
    cache, calls = PackageCache(tmp_path), []
    first, hit1 = compile_counting(cache, onnx_file, calls)
    second, hit2 = compile_counting(cache, onnx_file, calls)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert (second.words == first.words).all() and second.frames.tobytes() == first.frames.tobytes()
    assert second.meta["compile_s"] == first.meta["compile_s"] > 0
    assert cache.info().entries == 1


def test_a_corrupted_entry_is_rebuilt_not_used(tmp_path, onnx_file):
    cache, calls = PackageCache(tmp_path), []
    good, _ = compile_counting(cache, onnx_file, calls)
    entry = cache.entries()[0]
    data = bytearray(entry.read_bytes())
    data[HEADER_SIZE + 200] ^= 0xFF  # one flipped bit pattern in the section directory/body
    entry.write_bytes(data)
    again, hit = compile_counting(cache, onnx_file, calls)
    assert not hit and len(calls) == 2 and cache.rebuilt == 1
    assert (again.words == good.words).all()
    read_package(entry)  # the rebuilt entry is whole again (checksum verified)


def test_a_truncated_or_foreign_entry_is_rebuilt(tmp_path, onnx_file):
    cache, calls = PackageCache(tmp_path), []
    compile_counting(cache, onnx_file, calls)
    entry = cache.entries()[0]
    entry.write_bytes(entry.read_bytes()[:1000])
    assert not compile_counting(cache, onnx_file, calls)[1]
    # A valid package stored under another key's name (a renamed file) is stale too.
    other = tmp_path / "other"
    PackageCache(other).put("k" * 64, read_package(entry))
    os.replace(other / f"{'k' * 64}.ifp", entry)
    assert not compile_counting(cache, onnx_file, calls)[1] and len(calls) == 3


def test_entries_get_the_umask_mode_not_0600(tmp_path, onnx_file):
    old = os.umask(0o027)
    try:
        compile_counting(PackageCache(tmp_path), onnx_file, [])
    finally:
        os.umask(old)
    (entry,) = PackageCache(tmp_path).entries()
    assert entry.stat().st_mode & 0o777 == 0o640


def _writer(root: str, path: str) -> None:
    pkg = read_package(path)
    for _ in range(5):
        PackageCache(root).put("same" * 16, pkg)


def test_concurrent_writers_leave_one_whole_entry(tmp_path, onnx_file):
    src = PackageCache(tmp_path / "src")
    compile_counting(src, onnx_file, [])
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path / "c"), str(src.entries()[0])))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    cache = PackageCache(tmp_path / "c")
    assert [e.name for e in cache.entries()] == [f"{'same' * 16}.ifp"]
    assert not list((tmp_path / "c").glob(".*"))  # no temporary file left behind
    assert cache.get("same" * 16, TINY) is not None


def test_keys_depend_on_model_hardware_and_options(onnx_file, tmp_path):
    digest = model_digest(str(onnx_file))
    base = package_key(digest, TINY, {"fp32_shadow": False})
    assert base == package_key(digest, TINY, {"fp32_shadow": False})
    assert base != package_key(digest, load_hw("paper-u200"), {"fp32_shadow": False})
    assert base != package_key(digest, TINY, {"fp32_shadow": True})
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(onnx_file.read_bytes())
    assert model_digest(str(copy)) == digest  # content, not the path
    onnx.save(models.mobile(), copy)
    assert model_digest(str(copy)) != digest
    assert model_digest("vgg16") != model_digest("vgg16", seed=1)


def test_fvir_cache_variable_overrides_the_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("FVIR_CACHE", str(tmp_path / "here"))
    assert default_dir() == tmp_path / "here"
    monkeypatch.delenv("FVIR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and os.uname().sysname == "Linux":
        assert default_dir() == tmp_path / "xdg" / "fvir"


def test_fv_run_reuses_the_package_and_fv_cache_info_and_clear(monkeypatch, tmp_path, capsys,
                                                              onnx_file):
    monkeypatch.setenv("FVIR_CACHE", str(tmp_path))
    runs = []
    for extra in ([], [], ["--no-cache"]):
        assert fv_main(["run", str(onnx_file), "--hw", "tiny", "--json", *extra]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert "compile_s" in runs[0]["wall_s"] and "load_s" in runs[1]["wall_s"]
    assert "compile_s" in runs[2]["wall_s"]
    assert runs[0]["outputs"] == runs[1]["outputs"] == runs[2]["outputs"]
    assert fv_main(["cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entries"] == 1 and info["bytes"] > 0 and info["path"] == str(tmp_path)
    assert fv_main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert PackageCache().info().entries == 0


def test_a_corrupted_stored_simulation_is_recomputed_not_used(tmp_path, onnx_file):
    """The cloud simulator keeps its timing simulations in the cache (`result`); a stored
    value that was altered (a valid number, so it still parses) must not be trusted."""
    want = ModelLibrary(TINY)  # no cache: the simulation itself
    want.add("r", str(onnx_file))
    cycles = want.service("r", (0, 1)).cycles
    cache = PackageCache(tmp_path)

    def simulate() -> tuple[int, int]:
        lib = ModelLibrary(TINY, cache=cache)
        lib.add("r", str(onnx_file))
        return lib.service("r", (0, 1)).cycles, lib.simulations

    assert simulate() == (cycles, 1)
    (stored,) = tmp_path.glob("sim-*.json")
    assert simulate() == (cycles, 0)  # kept: read back, not simulated again
    doc = json.loads(stored.read_text())
    stored.write_text(json.dumps({**doc, "value": doc["value"] + 1}))
    assert simulate() == (cycles, 1) and cache.rebuilt == 1
    stored.write_text(stored.read_text()[:-5])  # truncated
    assert simulate() == (cycles, 1) and cache.rebuilt == 2
    # A whole result stored under another key's name (a renamed file) is stale too.
    other = tmp_path / "sim-other.json"
    cache.store_result("sim-other", cycles + 7)
    os.replace(other, stored)
    assert simulate() == (cycles, 1) and cache.rebuilt == 3
    assert simulate() == (cycles, 0)
