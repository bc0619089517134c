"""Progress of long `fv` and `fv-opt` work on a terminal: one tqdm line on stderr.

`StageProgress` is the `progress(stage, *detail)` callback the compiler (`fvir.compiler`) and
the tools call at each stage (import, quantize, tile, ..., link, simulate). It is silent
unless stderr is a terminal and the command is not printing JSON, so logs, pipes and
`--json` output stay clean.

1. On entering, it opens a tqdm bar (`total` stages when known, else a counter) on stderr.
2. Each call with a new stage advances the bar and shows the stage and its detail; repeated
   calls for the same stage (per-layer or per-pass updates) update the detail only.
3. A daemon thread refreshes the line twice a second, so the elapsed time moves during a
   stage that takes seconds in one library call (a big layer's quantization, a simulation).
4. On leaving, the bar is cleared, so the command's report starts on a clean line.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import IO, Any

REFRESH_S = 0.5


class StageProgress:
    """A stage-by-stage progress line (see the module docstring)."""

    def __init__(self, desc: str, *, enabled: bool = True, total: int | None = None,
                 stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.desc, self.total = desc, total
        self.stage: str | None = None
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StageProgress:
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=self.desc, unit="stage", file=self.stream,
                             leave=False, dynamic_ncols=True,
                             bar_format="{desc}: {postfix} [{elapsed}]" if self.total is None
                             else None)
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(REFRESH_S):
            bar = self._bar
            if bar is not None:
                bar.refresh()

    def __call__(self, stage: str, *detail: object, **extra: object) -> None:
        bar = self._bar
        if bar is None:
            return
        parts = [str(d) for d in detail] + [f"{k}={v}" for k, v in extra.items()]
        if stage != self.stage:
            self.stage = stage
            bar.update(1)
        bar.set_postfix_str(" ".join([stage, *parts]), refresh=True)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
            self._bar = None
