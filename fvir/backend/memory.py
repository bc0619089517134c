"""The DDR a tenant's instructions see: segments bound to base registers, bounds-checked.

Instructions address DDR as (segment, offset) (docs/isa.md, Addressing). A `Memory` is one
tenant's view: base register `seg` -> a `Binding` (a 1-D array, a name, writable or not). The
array may be a view of a larger DDR bank array: binding the `fvir.runtime.memory.Region` the
allocator gave a segment is `bind(register, bank[start - bank_lo : end - bank_lo])`, so two
tenants' regions are disjoint views of one bank (here the tests and `run_package` bind them).
Every access is checked against its binding: one that leaves it (or writes a read-only one)
raises `MemoryFault` naming the tenant, segment, byte range and size, which is how the level-1
dispatcher enforces isolation (design decision 8).

Modes: in `int8` mode (the hardware) a region is a uint8 byte array; in `fp32` mode it is a
float32 array indexed like the byte array (element i holds the real value of byte i; see
`fvir.backend.semantics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from fvir.backend.faults import MemoryFault
from fvir.isa.spec import NUM_SEGMENTS

Mode = Literal["int8", "fp32"]
MODES: tuple[Mode, ...] = ("int8", "fp32")


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"unknown simulation mode '{mode}' (one of {', '.join(MODES)})")
    return mode  # type: ignore[return-value]  # checked just above


def storage_dtype(mode: Mode) -> np.dtype:
    """The element type of every memory (DDR and on-chip) in `mode`."""
    return np.dtype(np.uint8 if check_mode(mode) == "int8" else np.float32)


@dataclass(frozen=True)
class Binding:
    """What a base register is bound to: `array` is the region's whole extent. A read-only region
    (a package's weights, which tenants running one model may share) faults on every write."""

    array: np.ndarray
    name: str = ""
    writable: bool = True

    @property
    def size(self) -> int:
        return int(self.array.size)


class Memory:
    """One tenant's DDR: base registers -> regions, every access bounds-checked."""

    def __init__(self, mode: Mode = "int8", tenant: str = "tenant") -> None:
        self.mode: Mode = check_mode(mode)
        self.dtype = storage_dtype(self.mode)
        self.tenant = tenant
        self.bindings: dict[int, Binding] = {}
        self._regions: tuple[tuple[np.ndarray, bool] | None, ...] | None = None

    def bind(self, seg: int, array: np.ndarray, name: str = "", *,
             writable: bool | None = None) -> None:
        """Bind base register `seg` to `array` (1-D, contiguous, of this mode's dtype; a view
        into a larger array is fine, and writes go through to it). `writable` defaults to the
        array's own flag; a read-only region is kept as a read-only view."""
        if not 0 <= seg < NUM_SEGMENTS:
            raise ValueError(f"segment {seg} is not a base register (0..{NUM_SEGMENTS - 1})")
        if array.ndim != 1 or array.dtype != self.dtype or not array.flags.c_contiguous:
            raise ValueError(
                f"segment {seg}: a {self.mode} memory needs a contiguous 1-D {self.dtype} "
                f"array, got {array.ndim}-D {array.dtype}"
            )
        if writable is None:
            writable = bool(array.flags.writeable)
        if not writable:
            array = array.view()
            array.flags.writeable = False
        self.bindings[seg] = Binding(array, name, writable)
        self._regions = None

    def regions(self) -> tuple[tuple[np.ndarray, bool] | None, ...]:
        """(array, writable) of every base register, None where unbound: what the compiled
        frame loop checks its accesses against, by the same rules as `access`."""
        if self._regions is None:
            self._regions = tuple(
                (b.array, b.writable) if (b := self.bindings.get(seg)) else None
                for seg in range(NUM_SEGMENTS))
        return self._regions

    def alloc(self, seg: int, size: int, name: str = "") -> np.ndarray:
        """Bind `seg` to a new zeroed region of `size` bytes (elements) and return it."""
        array = np.zeros(size, self.dtype)
        self.bind(seg, array, name)
        return array

    def __getitem__(self, seg: int) -> np.ndarray:
        """The array bound to `seg` (for the host side: writing inputs, reading outputs)."""
        return self.bindings[seg].array

    def access(self, op: str, access: str, seg: int, lo: int, hi: int) -> np.ndarray:
        """The array of segment `seg` after checking that bytes `lo`..`hi`-1 lie inside it
        (and, when `access` is "writes", that it is writable); `op` and `access` word the
        fault."""
        region = self.bindings.get(seg)
        if region is None:
            raise MemoryFault(op, access, seg, lo, hi, None, problem="unbound").locate(
                tenant=self.tenant)
        if lo < 0 or hi > region.array.size:
            raise MemoryFault(op, access, seg, lo, hi, region.size, region.name).locate(
                tenant=self.tenant)
        if access == "writes" and not region.writable:
            raise MemoryFault(op, access, seg, lo, hi, region.size, region.name,
                              problem="read-only").locate(tenant=self.tenant)
        return region.array
