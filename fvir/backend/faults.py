"""Errors of simulated programs: memory faults, buffer overruns, dependency-protocol violations
and instructions the engines cannot execute.

They are `UserError`s: a tenant's program (a compiled package, a hand-written stream) is the
user's input, so the CLIs print one line, never a traceback. The semantics functions raise them
knowing only the instruction; the drivers add where it happened (`locate`: tenant, layer,
frame, instruction index), so a message reads like

    tenant 'alice', layer 'conv1', frame 3, instruction 12 (LOAD): reads bytes 4000..4159 of
    segment 1 ('input', 4096 bytes), outside the segment

(one line). Every part is also an attribute, so callers can react without parsing text.
"""

from __future__ import annotations

from fvir.errors import UserError


class SimError(UserError):
    """An error of the simulated program. `op` is the instruction type's name; `tenant`,
    `layer`, `frame` and `index` (position in the stream the driver ran) are filled in by the
    drivers as the error propagates."""

    def __init__(self, message: str, op: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.op = op
        self.tenant: str | None = None
        self.layer: str | None = None
        self.frame: int | None = None
        self.index: int | None = None

    def locate(self, *, tenant: str | None = None, layer: str | None = None,
               frame: int | None = None, index: int | None = None) -> SimError:
        """Record where the error happened; parts already known are kept (the innermost
        driver knows best)."""
        if self.tenant is None:
            self.tenant = tenant
        if self.layer is None:
            self.layer = layer
        if self.frame is None:
            self.frame = frame
        if self.index is None:
            self.index = index
        return self

    def __reduce__(self) -> tuple:
        # Faults cross process boundaries (`Machine.run_batch`'s workers); the subclasses'
        # constructors take other arguments, so rebuild from the state, not from the args.
        return _rebuilt, (type(self), self.args, self.__dict__)

    def __str__(self) -> str:
        where = []
        if self.tenant is not None:
            where.append(f"tenant '{self.tenant}'")
        if self.layer is not None:
            where.append(f"layer '{self.layer}'")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        if self.index is not None:
            where.append(f"instruction {self.index}")
        head = ", ".join(where)
        if self.op is not None:
            head = f"{head} ({self.op})" if head else self.op
        return f"{head}: {self.message}" if head else self.message


class MemoryFault(SimError):
    """A LOAD or SAVE touching DDR outside the tenant's segment, an unbound segment, or writing
    a read-only one (`problem`: "outside", "unbound", "read-only").

    `lo`/`hi` is the byte range touched within the segment (hi exclusive), `size` the segment's
    size (None when unbound)."""

    def __init__(self, op: str, access: str, segment: int, lo: int, hi: int,
                 size: int | None, name: str = "", problem: str = "outside") -> None:
        if problem == "unbound":
            message = f"{access} segment {segment}, which is not bound"
        else:
            label = f"'{name}', {size} bytes" if name else f"{size} bytes"
            what = "which is read-only" if problem == "read-only" else "outside the segment"
            message = f"{access} bytes {lo}..{hi - 1} of segment {segment} ({label}), {what}"
        super().__init__(message, op)
        self.access = access
        self.segment = segment
        self.lo = lo
        self.hi = hi
        self.size = size
        self.problem = problem


class BufferFault(SimError):
    """An access past the end of an on-chip buffer (`lo`..`hi`-1 of a buffer of `size`)."""

    def __init__(self, op: str, access: str, buffer: str, lo: int, hi: int, size: int) -> None:
        super().__init__(
            f"{access} bytes {lo}..{hi - 1} of the {buffer} buffer ({size} bytes), outside "
            f"the buffer",
            op,
        )
        self.access = access
        self.buffer = buffer
        self.lo = lo
        self.hi = hi
        self.size = size


class DependencyError(SimError):
    """A violation of the dpdon/dpdby token protocol (docs/isa.md): a wait no earlier
    instruction can satisfy (the core would deadlock), a token left over at the end of a
    stream, or an instruction naming its own engine."""


class ProgramError(SimError):
    """An instruction the engines cannot execute: a compute instruction without its *INIT, a
    zero stride or kernel, depthwise with ic != oc, padding larger than the window..."""


def _rebuilt(cls: type[SimError], args: tuple, state: dict) -> SimError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error
