"""DDR memory of the pool: regions, a per-bank allocator, and a tenant's allocation.

A package names DDR only as segments (weights, inputs, outputs, activations); before it can run,
each segment needs a region of some DDR bank. This module holds:

- `Region(bank, start, size)`: a byte range of one bank. Addresses are absolute over the pool:
  bank k spans `[k * bank_bytes, (k + 1) * bank_bytes)`, so a region's start is exactly the value
  the linker writes into the tenant's base register.
- `DdrAllocator`: first-fit over each bank's free list, with 64-byte alignment (a DDR burst) and
  coalescing on free. Allocation happens when a tenant arrives or its package changes, not on
  every link, so plain Python lists are fast enough; first-fit keeps low addresses busy and
  large holes at the top, which is what a few large segments per tenant want.
- `allocate_segments`: places a package's segments, largest first, in the banks of the tenant's
  cores (the bank serving the most of its cores first, where its frames' traffic goes anyway),
  spilling to the other banks (most free space first) when those are full. All or nothing: on
  failure nothing stays allocated.
- `Allocation(cores, regions, tenant)`: what the hypervisor gives a tenant now, and
  `validate_allocation`, which the linker runs on every link: every mistake (no cores, duplicate
  or unknown core ids, a missing, too small, overlapping or out-of-bank region, bad base
  registers) is a one-line `UserError`.
"""

from __future__ import annotations

import bisect
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fvir.errors import UserError
from fvir.hw.config import PoolConfig
from fvir.ifp.package import Package
from fvir.isa.spec import NUM_SEGMENTS

ALIGNMENT = 64  # bytes: one DDR burst; every region starts and ends on it


@dataclass(frozen=True)
class Region:
    """Bytes `[start, start + size)` of DDR bank `bank` (absolute pool addresses)."""

    bank: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def __str__(self) -> str:
        return f"[{self.start:#x}, {self.end:#x})"


@dataclass(frozen=True)
class Allocation:
    """The resources a tenant has now.

    `cores` are physical core ids, in the order the linker numbers its core slots. `regions`
    maps every package segment (its index in `Package.segments`) to its DDR region.
    `registers`, when given, is the base register each segment uses (one per segment, distinct,
    `0..NUM_SEGMENTS-1`): for a level-1 dispatcher whose register file is shared between
    tenants. None (the default) means the tenant owns a whole register file and segment i uses
    register i, so the package's instruction words need no patching at all.
    """

    cores: tuple[int, ...]
    regions: Mapping[int, Region]
    tenant: int = 0
    registers: tuple[int, ...] | None = None


def bank_range(pool: PoolConfig, bank: int) -> tuple[int, int]:
    """The absolute byte range `[lo, hi)` of DDR bank `bank`."""
    return bank * pool.bank_bytes, (bank + 1) * pool.bank_bytes


def _align_up(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


# ---------------------------------------------------------------------------------------------
# Validation (also used by the linker on every link: small Python loops over <= 255 cores and
# <= 32 segments, a few microseconds)


def check_cores(cores: Iterable[int], pool: PoolConfig, tenant: int = 0) -> tuple[int, ...]:
    """`cores` as a tuple of ints, or a `UserError` naming the first bad one."""
    try:
        ids = tuple(operator.index(c) for c in cores)
    except TypeError:
        raise UserError(f"core ids must be integers, got {list(cores)!r}") from None
    if not ids:
        raise UserError(f"allocation of tenant {tenant} has no cores")
    if len(set(ids)) != len(ids):
        dup = next(c for c, k in Counter(ids).items() if k > 1)
        raise UserError(f"core {dup} appears twice in the allocation of tenant {tenant}")
    for c in ids:
        if not 0 <= c < pool.num_cores:
            raise UserError(
                f"unknown core {c}: pool '{pool.name}' has cores 0..{pool.num_cores - 1}"
            )
    return ids


def validate_allocation(package: Package, allocation: Allocation, pool: PoolConfig) -> None:
    """Raise a one-line `UserError` unless `allocation` can run `package` on `pool`."""
    check_cores(allocation.cores, pool, allocation.tenant)
    segs = package.segments
    regions = allocation.regions
    for seg in regions:
        if not (isinstance(seg, int) and 0 <= seg < len(segs)):
            raise UserError(
                f"region given for segment {seg!r}, but package '{package.name}' has "
                f"{len(segs)} segments (0..{len(segs) - 1})"
            )
    spans = []
    for i, s in enumerate(segs):
        r = regions.get(i)
        if r is None:
            raise UserError(f"segment '{s.name}' (#{i}) has no region")
        if r.size < s.size:
            raise UserError(
                f"region of segment '{s.name}' is too small: {r.size} bytes for a "
                f"{s.size}-byte segment"
            )
        if not 0 <= r.bank < pool.num_banks:
            raise UserError(
                f"region of segment '{s.name}' is on unknown bank {r.bank}: pool '{pool.name}' "
                f"has banks 0..{pool.num_banks - 1}"
            )
        lo, hi = bank_range(pool, r.bank)
        if r.start < lo or r.end > hi:
            raise UserError(
                f"region of segment '{s.name}' {r} lies outside bank {r.bank} [{lo:#x}, {hi:#x})"
            )
        if r.size > 0:  # an empty region overlaps nothing
            spans.append((r.start, r.end, i))
    spans.sort()
    # Sorted by start, a region overlaps an earlier one iff it starts before the furthest end
    # seen so far.
    far_end, far = -1, -1
    for start, end, i in spans:
        if start < far_end:
            first, second = sorted((far, i))
            raise UserError(
                f"regions of segments '{segs[first].name}' and '{segs[second].name}' overlap: "
                f"{regions[first]} and {regions[second]}"
            )
        if end > far_end:
            far_end, far = end, i
    if allocation.registers is not None:
        _check_registers(package, allocation.registers)


def _check_registers(package: Package, registers: Sequence[int]) -> None:
    segs = package.segments
    if len(registers) != len(segs):
        raise UserError(f"{len(registers)} base registers given for {len(segs)} segments")
    seen: dict[int, int] = {}
    for i, reg in enumerate(registers):
        if not 0 <= reg < NUM_SEGMENTS:
            raise UserError(
                f"base register {reg} of segment '{segs[i].name}' is not in "
                f"0..{NUM_SEGMENTS - 1}"
            )
        if reg in seen:
            raise UserError(
                f"segments '{segs[seen[reg]].name}' and '{segs[i].name}' share base "
                f"register {reg}"
            )
        seen[reg] = i


# ---------------------------------------------------------------------------------------------
# The allocator


@dataclass
class DdrAllocator:
    """First-fit allocator over every DDR bank of `pool`, `alignment`-byte granular.

    Each bank keeps a sorted list of disjoint free intervals; `alloc` takes the lowest one that
    fits, `free` puts a region back and merges it with its neighbours, so freeing everything
    restores one interval per bank. Regions remember their tenant, for `free_tenant`.
    """

    pool: PoolConfig
    alignment: int = ALIGNMENT
    # per bank: starts and ends of the free intervals, sorted, disjoint, never adjacent
    _starts: list[list[int]] = field(init=False, repr=False)
    _ends: list[list[int]] = field(init=False, repr=False)
    _owner: dict[Region, int] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.alignment <= 0 or self.alignment & (self.alignment - 1):
            raise ValueError(f"alignment must be a power of two, got {self.alignment}")
        self._starts, self._ends = [], []
        for bank in range(self.pool.num_banks):
            lo, hi = bank_range(self.pool, bank)
            lo = _align_up(lo, self.alignment)
            self._starts.append([lo] if lo < hi else [])
            self._ends.append([hi] if lo < hi else [])

    def alloc(self, size: int, bank: int, tenant: int = 0) -> Region | None:
        """A region of at least `size` bytes (rounded up to the alignment, at least one unit)
        at the lowest address of `bank` that fits, or None when no free interval is large
        enough."""
        if size < 0:
            raise ValueError(f"cannot allocate {size} bytes")
        need = max(_align_up(size, self.alignment), self.alignment)
        starts, ends = self._starts[bank], self._ends[bank]
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            if e - s >= need:
                if e - s == need:
                    del starts[k], ends[k]
                else:
                    starts[k] = s + need
                region = Region(bank, s, need)
                self._owner[region] = tenant
                return region
        return None

    def free(self, region: Region) -> None:
        """Return `region` (from `alloc`) to its bank's free list."""
        if self._owner.pop(region, None) is None:
            raise ValueError(f"region {region} of bank {region.bank} is not allocated")
        starts, ends = self._starts[region.bank], self._ends[region.bank]
        k = bisect.bisect_left(starts, region.start)
        merge_left = k > 0 and ends[k - 1] == region.start
        merge_right = k < len(starts) and starts[k] == region.end
        if merge_left and merge_right:
            ends[k - 1] = ends[k]
            del starts[k], ends[k]
        elif merge_left:
            ends[k - 1] = region.end
        elif merge_right:
            starts[k] = region.start
        else:
            starts.insert(k, region.start)
            ends.insert(k, region.end)

    def free_tenant(self, tenant: int) -> int:
        """Free every region of `tenant` (it left); returns the bytes freed."""
        mine = [r for r, t in self._owner.items() if t == tenant]
        for r in mine:
            self.free(r)
        return sum(r.size for r in mine)

    def regions_of(self, tenant: int) -> list[Region]:
        """The regions `tenant` holds, by address."""
        return sorted((r for r, t in self._owner.items() if t == tenant),
                      key=lambda r: r.start)

    def free_bytes(self, bank: int) -> int:
        return sum(e - s for s, e in zip(self._starts[bank], self._ends[bank], strict=True))

    def largest_free(self, bank: int) -> int:
        return max((e - s for s, e in zip(self._starts[bank], self._ends[bank], strict=True)),
                   default=0)

    def free_intervals(self, bank: int) -> list[tuple[int, int]]:
        """The free `[start, end)` intervals of `bank`, by address (for tests and reports)."""
        return list(zip(self._starts[bank], self._ends[bank], strict=True))


def bank_preference(cores: Sequence[int], pool: PoolConfig,
                    allocator: DdrAllocator) -> list[int]:
    """Banks in the order segments try them: the banks of `cores`, the one serving the most of
    them first (ties: lower bank), then the others with the most free bytes first."""
    count = Counter(pool.bank_of(c) for c in cores)
    own = sorted(count, key=lambda b: (-count[b], b))
    rest = sorted((b for b in range(pool.num_banks) if b not in count),
                  key=lambda b: (-allocator.free_bytes(b), b))
    return own + rest


def allocate_segments(package: Package, cores: Sequence[int], pool: PoolConfig,
                      allocator: DdrAllocator, tenant: int = 0) -> dict[int, Region]:
    """A region for every segment of `package`, preferring the banks of `cores`.

    Largest segment first (first-fit decreasing fragments least); each goes to the first bank
    in `bank_preference` order with a large enough hole. When a segment fits nowhere, the
    regions already taken are freed and a `UserError` says which segment did not fit.
    """
    ids = check_cores(cores, pool, tenant)
    banks = bank_preference(ids, pool, allocator)
    order = sorted(range(len(package.segments)), key=lambda i: (-package.segments[i].size, i))
    regions: dict[int, Region] = {}
    for i in order:
        seg = package.segments[i]
        for bank in banks:
            region = allocator.alloc(seg.size, bank, tenant)
            if region is not None:
                regions[i] = region
                break
        else:
            for r in regions.values():
                allocator.free(r)
            largest = max(allocator.largest_free(b) for b in range(pool.num_banks))
            raise UserError(
                f"out of DDR memory: segment '{seg.name}' of package '{package.name}' needs "
                f"{seg.size} bytes, the largest free block of pool '{pool.name}' is {largest}"
            )
    return dict(sorted(regions.items()))


def make_allocation(package: Package, cores: Sequence[int], pool: PoolConfig,
                    allocator: DdrAllocator | None = None, tenant: int = 0) -> Allocation:
    """Cores plus freshly allocated regions (a new allocator over `pool` when none is given):
    what `fv link` and a single-tenant run use."""
    alloc = DdrAllocator(pool) if allocator is None else allocator
    regions = allocate_segments(package, cores, pool, alloc, tenant)
    return Allocation(tuple(operator.index(c) for c in cores), regions, tenant)
