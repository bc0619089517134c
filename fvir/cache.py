"""Compile once: compiled packages kept on disk, keyed by everything a package depends on.

The static compiler takes seconds to minutes per model (VGG-16: ~15 s); linking takes a
millisecond. `fv run`, `fv cloud` and any sweep ask this cache first, so the slow path runs
once per (model, hardware, options, compiler), ever.

1. Key: SHA-256 over the model's content digest (a file's bytes; a zoo model's name and seed,
   the zoo being source code), the pool's `config_hash()` (the tiling depends on the pool
   size), the compiler options, fvir's version, a digest of fvir's own sources outside
   `cloud` and `tools` (so that a development checkout never reuses a package an older
   compiler built) and the `.ifp` format version.
2. Lookup: `<dir>/<key>.ifp`, read with `read_package`, which checks magic, version, size,
   SHA-256 checksum, internal references and the core; the key is also stored in the
   package's metadata and compared. Any failure deletes the entry and counts as a miss: a
   corrupt or stale entry is rebuilt, never used.
3. Store: written to a unique temporary name in the cache directory, given the mode a new
   file gets under the umask (not the 0600 of a temporary file), then renamed onto the key's
   name (`os.replace`, atomic): concurrent writers of one key each publish a whole file, and
   the last rename wins.
4. Results: small JSON results of deterministic computations on cached packages (the cloud
   simulator's timing simulations and spot checks) are kept the same way, under a key that
   includes the packages' keys, with that key and a SHA-256 of the value: one that does not
   parse, names another key or fails its checksum is deleted and recomputed, never used.

The directory is `$FVIR_CACHE` if set, else the user's cache directory (`$XDG_CACHE_HOME/fvir`
or `~/.cache/fvir`; `~/Library/Caches/fvir` on macOS, `%LOCALAPPDATA%\\fvir` on Windows).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fvir import __version__
from fvir.errors import UserError
from fvir.hw.config import PoolConfig
from fvir.ifp.package import FORMAT_VERSION, Package

SUFFIX = ".ifp"
Build = Callable[[], Package]


def default_dir() -> Path:
    """`$FVIR_CACHE`, else the platform's user cache directory + `fvir`."""
    if env := os.environ.get("FVIR_CACHE"):
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "fvir"
    if sys.platform == "win32" and (local := os.environ.get("LOCALAPPDATA")):
        return Path(local) / "fvir"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fvir"


@cache
def source_digest() -> str:
    """SHA-256 of fvir's compiler-side sources (everything but `cloud`, `tools` and this
    module, which do not change what a package contains)."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("cloud/", "tools/")) or rel == "cache.py":
            continue
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def model_digest(model: Any, seed: int = 0) -> str:
    """Content digest of a model given as a zoo name, an ONNX file path or a ModelProto."""
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.is_file():
            h = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            return "file:" + h.hexdigest()
        return f"zoo:{model}:seed{seed}"  # the zoo is code: covered by `source_digest`
    return "proto:" + hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()


def package_key(model: str, hw: PoolConfig, options: Mapping[str, Any]) -> str:
    """The cache key (hex) of `model` (a `model_digest`) compiled for `hw` with `options`."""
    doc = {"model": model, "hw": hw.config_hash(), "options": dict(options),
           "fvir": __version__, "sources": source_digest(), "ifp": FORMAT_VERSION}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class CacheInfo:
    path: Path
    entries: int
    bytes: int


class PackageCache:
    """Packages on disk under `root` (default: `default_dir()`), see the module docstring."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.hits = self.misses = self.rebuilt = 0

    def path(self, key: str) -> Path:
        return self.root / f"{key}{SUFFIX}"

    def get(self, key: str, hw: PoolConfig) -> Package | None:
        """The package stored under `key`, or None (absent, or corrupt/stale: then deleted)."""
        from fvir.ifp.fileformat import read_package

        path = self.path(key)
        if not path.is_file():
            return None
        try:
            package = read_package(path, core=hw.core)
            if package.meta.get("cache_key") != key:
                raise UserError(f"{path}: written under another key")
        except UserError:
            self.rebuilt += 1
            path.unlink(missing_ok=True)
            return None
        return package

    def put(self, key: str, package: Package) -> Path:
        """Store `package` under `key`: whole or not at all (module docstring, step 3)."""
        from fvir.ifp.fileformat import write_package

        package.meta["cache_key"] = key
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the package cache {self.root}: "
                            f"{exc.strerror or exc}") from None
        tmp = self.root / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            write_package(package, tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, self.path(key))
        except OSError as exc:
            raise UserError(f"cannot write to the package cache {self.root}: "
                            f"{exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return self.path(key)

    def package(self, key: str, hw: PoolConfig, build: Build) -> tuple[Package, bool]:
        """(the package under `key`, True) or (`build()` stored under it, False)."""
        found = self.get(key, hw)
        if found is not None:
            self.hits += 1
            return found, True
        self.misses += 1
        package = build()
        self.put(key, package)
        return package, False

    def result(self, key: str) -> Any | None:
        """A small JSON result stored under `key` (e.g. a spot check's full simulation),
        or None; an unreadable one is deleted."""
        path = self.root / f"{key}.json"
        try:
            doc = json.loads(path.read_text())
            value = doc["value"]
            if doc["key"] != key or doc["sha256"] != _digest(value):
                raise ValueError("stale or corrupt")
            return value
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.rebuilt += 1
            path.unlink(missing_ok=True)
            return None

    def store_result(self, key: str, value: Any) -> None:
        """Store a JSON result under `key`, atomically (as `put`)."""
        tmp = self.root / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            doc = {"key": key, "value": value, "sha256": _digest(value)}
            tmp.write_text(json.dumps(doc))  # open() applies the umask
            os.replace(tmp, self.root / f"{key}.json")
        except OSError as exc:
            raise UserError(f"cannot write to the package cache {self.root}: "
                            f"{exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)

    def entries(self) -> list[Path]:
        return sorted(self.root.glob(f"*{SUFFIX}")) if self.root.is_dir() else []

    def info(self) -> CacheInfo:
        files = self.entries()
        return CacheInfo(self.root, len(files), sum(f.stat().st_size for f in files))

    def clear(self) -> int:
        """Delete every entry and stored result (and stray temporary files); returns the
        packages deleted."""
        files = self.entries()
        for f in [*files, *(self.root.glob("*.json") if self.root.is_dir() else [])]:
            f.unlink(missing_ok=True)
        if self.root.is_dir():  # a writer that died between write and rename
            for part in self.root.glob(".*.part"):
                if time.time() - part.stat().st_mtime > 3600:
                    part.unlink(missing_ok=True)
        return len(files)


def _digest(value: Any) -> str:
    """SHA-256 of a stored result's canonical JSON (what `result` checks)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def compile_cached(model: Any, hw: PoolConfig, cache: PackageCache | None,
                   load: Callable[[], tuple[Any, str]], *, fp32_shadow: bool = True,
                   progress: Callable[[str], None] | None = None) -> tuple[Package, bool]:
    """`compile_model(load()[0], hw, fp32_shadow=...)` through `cache` (None: no cache).
    `model` (a zoo name, an ONNX path or a ModelProto) gives the key; `load` returns the
    ModelProto and its name, and is only called on a miss. Returns (package, cache hit)."""
    from fvir.compiler import compile_errors, compile_model

    def build() -> Package:
        proto, name = load()
        if progress is not None:
            progress(f"compile {name} for {hw.name}")
        t0 = time.perf_counter()
        with compile_errors(name, hw):
            package = compile_model(proto, hw, fp32_shadow=fp32_shadow)
        package.meta["compile_s"] = time.perf_counter() - t0  # reported again on a hit
        return package

    if cache is None:
        return build(), False
    key = package_key(model_digest(model), hw, {"fp32_shadow": fp32_shadow})
    return cache.package(key, hw, build)
