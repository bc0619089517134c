"""Run one generated input through an fvir entry point and classify what happened.

A `Case` is an argv for `fv` or `fv-opt` plus the files it names. `run_cases` runs each case
in a forked copy of this process (the modules are imported once, before the fork, so a case
costs milliseconds), with a timeout, and returns an `Outcome` per case:

1. The child chdirs into a fresh directory holding the case's files and copies of the shared
   fixtures, captures stdout/stderr in memory and records every warning raised.
2. It calls the tool's `main(argv)` in process. A return or `SystemExit` with code 0 is `ok`,
   any other code is `error` (the tool's own message); an exception that escapes `main` is
   `traceback`, with its type, message and innermost fvir frame (the cause to group by).
3. The parent kills a child that outlives the timeout (`hang`); a child that dies from a
   signal (a crash in native code) is `crash`.
4. A warning that reaches the user (a RuntimeWarning, UserWarning, ...; not the deprecation
   families Python hides by default) marks the outcome `leaks_warning`, and an `fv` error
   that is not exactly one `fv <cmd>: error: ...` line marks it `multi_line`.
5. `owner` says whose scope a traceback, crash or hang falls in, from where it happened or
   which command ran: the ONNX importer (fvir/frontend: issue 16 items 2 and 4), the cloud
   (fvir/cloud, fv cloud: item 7), or the rest.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES = ("ok", "error", "traceback", "hang", "crash")
HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@dataclass
class Case:
    """One generated input: `tool` is "fv" or "fv-opt"; `files` are written before it runs."""

    kind: str
    tool: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    timeout: float = 30.0
    note: str = ""  # what the generator did, for the report


@dataclass
class Outcome:
    case: Case
    outcome: str
    code: int | None = None
    stderr: str = ""
    cause: str = ""  # traceback: "ExcType at file:line"; hang/crash: the command
    owner: str = "harden"
    leaks_warning: str = ""
    multi_line: bool = False
    seconds: float = 0.0


MINE = ("fvir/tools/", "fvir/reference/check.py", "fvir/frontend/inputs.py", "fvir/hw/",
        "fvir/isa/", "fvir/ifp/", "fvir/errors.py")


def _owner(case: Case, where: str) -> str:
    """Whose scope a failure is in: the importer's (an ONNX file that should have been
    rejected on import: issue 16 items 2/4), the cloud's (item 7), or this branch's."""
    if where.startswith("fvir/frontend/onnx") or (
            case.kind == "onnx" and not where.startswith(MINE)):
        return "frontend (items 2/4)"
    if where.startswith("fvir/cloud") or (case.argv[:1] == ["cloud"]):
        return "cloud (item 7)"
    return "harden"


def _innermost_fvir_frame(tb: traceback.StackSummary) -> str:
    for frame in reversed(tb):
        path = frame.filename.replace(os.sep, "/")
        if "/fvir/" in path and "/site-packages/" not in path:
            return f"{'fvir/' + path.rsplit('/fvir/', 1)[1]}:{frame.lineno}"
    last = tb[-1] if tb else None
    return f"{Path(last.filename).name}:{last.lineno}" if last else "?"


def _main_of(tool: str) -> Callable[[list[str]], int]:
    if tool == "fv":
        from fvir.tools.fv import main
    else:
        from fvir.tools.fv_opt import main
    return main  # type: ignore[return-value]


def _child(case: Case, directory: Path, result: Path) -> None:
    """Runs in the forked child; writes `result` as JSON and never returns."""
    try:
        os.chdir(directory)
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        record: dict = {"code": None, "exc": None}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = _main_of(case.tool)(list(case.argv))
                record["code"] = 0 if code is None else int(code)
            except SystemExit as exc:
                record["code"] = exc.code if isinstance(exc.code, int) else (
                    0 if exc.code is None else 1)
                if exc.code not in (None, 0) and not isinstance(exc.code, int):
                    err.write(str(exc.code))
            except BaseException as exc:
                tb = traceback.extract_tb(exc.__traceback__)
                record["exc"] = {"type": type(exc).__name__,
                                 "message": (str(exc).strip().splitlines() or [""])[0][:300],
                                 "where": _innermost_fvir_frame(tb)}
        leaked = [f"{w.category.__name__}: {str(w.message)[:120]} ({Path(w.filename).name}:"
                  f"{w.lineno})" for w in caught if not issubclass(w.category, HIDDEN_WARNINGS)]
        record["warning"] = leaked[0] if leaked else ""
        record["stderr"] = err.getvalue()[-2000:]
        result.write_text(json.dumps(record))
    finally:
        os._exit(0)


@dataclass
class _Running:
    case: Case
    pid: int
    directory: Path
    start: float


def _start(case: Case, fixtures: Path | None, root: Path, index: int) -> _Running:
    directory = root / f"case{index}"
    directory.mkdir()
    if fixtures is not None:
        for item in fixtures.iterdir():
            if item.is_file():
                shutil.copy(item, directory / item.name)
    for name, data in case.files.items():
        (directory / name).write_bytes(data)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(case, directory, directory / ".result.json")
    return _Running(case, pid, directory, time.monotonic())


def _finish(run: _Running, status: int | None) -> Outcome:
    case = run.case
    seconds = time.monotonic() - run.start
    command = " ".join([case.tool, *case.argv])[:200]
    if status is None:
        return Outcome(case, "hang", cause=command, owner=_owner(case, ""), seconds=seconds)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return Outcome(case, "crash", cause=f"{sig}: {command}", owner=_owner(case, ""),
                       seconds=seconds)
    result = run.directory / ".result.json"
    if not result.exists():
        return Outcome(case, "crash", cause=f"no result: {command}", owner=_owner(case, ""),
                       seconds=seconds)
    record = json.loads(result.read_text())
    stderr = record["stderr"]
    if record["exc"] is not None:
        exc = record["exc"]
        return Outcome(case, "traceback", stderr=stderr,
                       cause=f"{exc['type']} at {exc['where']}: {exc['message'][:100]}",
                       owner=_owner(case, exc["where"]), leaks_warning=record["warning"],
                       seconds=seconds)
    code = record["code"]
    outcome = "ok" if code == 0 else "error"
    lines = [line for line in stderr.splitlines() if line.strip()]
    multi = (outcome == "error" and case.tool == "fv" and bool(case.argv)
             and not ((len(lines) == 1 and ": error: " in lines[0])
                      or any(": error: check failed" in line for line in lines)))
    return Outcome(case, outcome, code=code, stderr=stderr, leaks_warning=record["warning"],
                   multi_line=multi, seconds=seconds)


def run_cases(cases: Iterable[Case], fixtures: Path | None = None, jobs: int = 1,
              keep: bool = False) -> Iterator[Outcome]:
    """Run every case (see the module docstring), `jobs` at a time; yields in completion
    order."""
    root = Path(tempfile.mkdtemp(prefix="fvir-fuzz-"))
    running: list[_Running] = []
    pending = iter(enumerate(cases))
    exhausted = False
    try:
        while running or not exhausted:
            while not exhausted and len(running) < jobs:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                running.append(_start(item[1], fixtures, root, item[0]))
            time.sleep(0.002)
            for run in list(running):
                pid, status = os.waitpid(run.pid, os.WNOHANG)
                if pid == 0:
                    if time.monotonic() - run.start < run.case.timeout:
                        continue
                    os.kill(run.pid, signal.SIGKILL)
                    os.waitpid(run.pid, 0)
                    outcome = _finish(run, None)
                else:
                    outcome = _finish(run, status)
                running.remove(run)
                if not keep:
                    shutil.rmtree(run.directory, ignore_errors=True)
                yield outcome
    finally:
        for run in running:
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
