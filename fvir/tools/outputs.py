"""Output destinations of the `fv` subcommands, checked before the work and written with
one-line errors.

Every flag that names something to write (`fv compile -o`, `fv run --trace`, `--save-outputs`,
`fv import -o/--weights`, `fv zoo build -o`, `fv cloud --plot`) goes through this module, so
that a bad destination is reported in the same words before minutes of compiling or simulating,
not as a traceback after them. The policy:

1. A file destination may exist only as a regular file, which is overwritten; a directory, a
   device (`/dev/full`), a socket or a FIFO is refused.
2. Its parent directory must exist (no silent `mkdir -p` of a mistyped path) and accept a new
   file: checked by creating and removing a probe file there, which also catches read-only
   file systems and, unlike `os.access`, holds for root too.
3. A directory destination (`--save-outputs DIR`, `--plot DIR`) may exist as a directory or be
   created, with its parents, under an existing writable directory; an existing non-directory
   is refused.
4. `writing(path)` turns the `OSError` of the write itself (a disk that fills up meanwhile)
   into the same one-line `UserError`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fvir.errors import UserError


def _fail(path: str | os.PathLike[str], why: str) -> UserError:
    return UserError(f"cannot write '{os.fspath(path)}': {why}")


def _probe_directory(directory: Path, target: str | os.PathLike[str]) -> None:
    """Raise unless a new file can be created in `directory` (an existing directory)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".fv-probe-", dir=directory)
    except OSError as exc:
        raise _fail(target, f"directory '{directory}' is not writable "
                            f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: str | os.PathLike[str]) -> Path:
    """Check that `path` can be written as a file (see the module docstring); return it."""
    target = Path(path)
    if os.fspath(path) == "":
        raise UserError("an output path is empty")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise _fail(path, "it is a directory (give a file name)")
        if not stat.S_ISREG(mode):
            raise _fail(path, "it is not a regular file")
    parent = target.parent
    try:
        parent_is_dir = parent.is_dir()
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    if not parent_is_dir:
        raise _fail(path, f"no such directory '{parent}'")
    _probe_directory(parent, path)
    return target


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """Check that `path` is, or can be created as, a writable directory; return it."""
    target = Path(path)
    if os.fspath(path) == "":
        raise UserError("an output directory is empty")
    existing = target
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:  # a name too long, a loop of symbolic links
        raise _fail(path, exc.strerror or str(exc)) from None
    if not existing.is_dir():
        raise _fail(path, f"'{existing}' is not a directory")
    _probe_directory(existing, path)
    return target


def make_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory `check_output_dir` accepted, with one-line errors."""
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    return target


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Report an `OSError` raised while writing `path` as one line."""
    try:
        yield
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
