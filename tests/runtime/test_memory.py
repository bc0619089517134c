"""DDR regions: the first-fit allocator, segment placement in the tenant's banks, and the
validation of allocations (every error message exactly)."""

import itertools
from dataclasses import replace

import pytest

from fvir.errors import UserError
from fvir.hw import PAPER_U200, TINY
from fvir.ifp.package import Segment
from fvir.runtime import (
    ALIGNMENT,
    Allocation,
    DdrAllocator,
    Region,
    allocate_segments,
    make_allocation,
    validate_allocation,
)
from fvir.runtime.memory import bank_preference, bank_range
from fvir.runtime.synthetic import make_package

from .helpers import TINY_HASH

MiB = 1 << 20
BANK = TINY.bank_bytes  # 64 MiB; tiny: cores 0, 1 on bank 0 and 2, 3 on bank 1


def small_package(sizes=(4096, 1000, 300, 64)):
    """A package whose four segments have the given sizes."""
    pkg = make_package([[10, 20]], core_hash=TINY_HASH)
    pkg.segments = [Segment(s.name, s.kind, size) for s, size in zip(pkg.segments, sizes,
                                                                       strict=True)]
    return pkg


# ---------------------------------------------------------------------------------------------
# The allocator


def test_bank_ranges_are_absolute():
    assert bank_range(TINY, 0) == (0, BANK)
    assert bank_range(TINY, 1) == (BANK, 2 * BANK)


def test_alloc_aligns_and_is_first_fit():
    a = DdrAllocator(TINY)
    r1 = a.alloc(1, bank=1, tenant=7)
    r2 = a.alloc(100, bank=1, tenant=7)
    assert r1 == Region(1, BANK, ALIGNMENT)
    assert r2 == Region(1, BANK + 64, 128)  # rounded up to two 64-byte units
    assert a.alloc(0, bank=0).size == ALIGNMENT  # even an empty segment gets one unit
    assert a.free_bytes(1) == BANK - 192
    assert a.regions_of(7) == [r1, r2]


def test_free_coalesces_back_to_one_interval():
    a = DdrAllocator(TINY)
    rs = [a.alloc(64 * k, bank=0) for k in (1, 2, 3, 4)]
    for r in (rs[1], rs[3], rs[0], rs[2]):  # every merge case: none, right, left, both
        a.free(r)
    assert a.free_intervals(0) == [(0, BANK)]
    assert a.largest_free(0) == BANK


def test_fragmentation_first_fit_reuses_the_lowest_hole():
    a = DdrAllocator(TINY)
    r1, r2, r3 = (a.alloc(MiB, bank=0) for _ in range(3))
    a.free(r2)  # a 1 MiB hole between r1 and r3
    big = a.alloc(2 * MiB, bank=0)
    assert big.start == r3.end  # does not fit the hole: goes above
    small = a.alloc(MiB // 2, bank=0)
    assert small.start == r2.start  # fits the hole: lowest address first
    assert a.free_intervals(0) == [(r2.start + MiB // 2, r3.start), (big.end, BANK)]
    assert r1.start == 0


def test_full_bank_returns_none():
    a = DdrAllocator(TINY)
    whole = a.alloc(BANK, bank=0)
    assert whole == Region(0, 0, BANK)
    assert a.free_intervals(0) == []
    assert a.alloc(1, bank=0) is None
    assert a.alloc(BANK + 1, bank=1) is None


def test_free_tenant_and_double_free():
    a = DdrAllocator(TINY)
    mine = [a.alloc(1000, bank=0, tenant=1), a.alloc(1000, bank=1, tenant=1)]
    theirs = a.alloc(1000, bank=0, tenant=2)
    assert a.free_tenant(1) == sum(r.size for r in mine)
    assert a.regions_of(1) == []
    assert a.regions_of(2) == [theirs]
    with pytest.raises(ValueError, match="is not allocated"):
        a.free(mine[0])


def test_alignment_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        DdrAllocator(TINY, alignment=48)


# ---------------------------------------------------------------------------------------------
# Placing a package's segments


def test_segments_go_to_the_banks_of_the_cores():
    pkg = small_package()
    a = DdrAllocator(TINY)
    regions = allocate_segments(pkg, [2, 3], TINY, a, tenant=5)
    assert {r.bank for r in regions.values()} == {1}
    assert sorted(regions) == [0, 1, 2, 3]
    # largest first: the 4096-byte segment gets the lowest address
    assert regions[0].start == BANK
    assert all(r.size >= s.size for r, s in zip(regions.values(), pkg.segments, strict=True))
    assert a.regions_of(5) == sorted(regions.values(), key=lambda r: r.start)


def test_bank_preference_most_cores_first_then_most_free():
    a = DdrAllocator(PAPER_U200)
    a.alloc(MiB, bank=2)  # bank 2 has less free space than banks 1 and 3
    # cores 8, 9 on bank 2 and core 0 on bank 0: bank 2 serves more of them
    assert bank_preference([0, 8, 9], PAPER_U200, a) == [2, 0, 1, 3]
    assert bank_preference([5], PAPER_U200, a) == [1, 0, 3, 2]


def test_segments_spill_to_other_banks_when_full():
    pkg = small_package((3 * MiB, MiB, MiB, 64))
    pool = replace(TINY, bank_bytes=4 * MiB)
    a = DdrAllocator(pool)
    regions = allocate_segments(pkg, [0], pool, a)
    assert regions[0].bank == 0 and regions[1].bank == 0  # 3 + 1 MiB fill bank 0
    assert regions[2].bank == 1 and regions[3].bank == 1


def test_out_of_memory_rolls_back():
    pool = replace(TINY, bank_bytes=4 * MiB)
    pkg = small_package((3 * MiB, 3 * MiB, 3 * MiB, 64))
    a = DdrAllocator(pool)
    with pytest.raises(UserError) as exc:
        allocate_segments(pkg, [0, 2], pool, a)
    assert str(exc.value) == (
        "out of DDR memory: segment 'output' of package 'synthetic' needs 3145728 bytes, the "
        "largest free block of pool 'tiny' is 4194304"
    )
    assert a.free_intervals(0) == [(0, 4 * MiB)]
    assert a.free_intervals(1) == [(4 * MiB, 8 * MiB)]


def test_make_allocation():
    pkg = small_package()
    alloc = make_allocation(pkg, [1, 0], TINY, tenant=3)
    assert alloc.cores == (1, 0) and alloc.tenant == 3 and alloc.registers is None
    validate_allocation(pkg, alloc, TINY)


# ---------------------------------------------------------------------------------------------
# Validation: every message


def good(pkg):
    return make_allocation(pkg, [0, 1], TINY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda al: replace(al, cores=()), "allocation of tenant 0 has no cores"),
        (lambda al: replace(al, cores=(0, 1, 0)),
         "core 0 appears twice in the allocation of tenant 0"),
        (lambda al: replace(al, cores=(0, 4)), "unknown core 4: pool 'tiny' has cores 0..3"),
        (lambda al: replace(al, cores=(-1,)), "unknown core -1: pool 'tiny' has cores 0..3"),
        (lambda al: replace(al, cores=(0.5,)), "core ids must be integers, got [0.5]"),
        (lambda al: replace(al, regions={k: v for k, v in al.regions.items() if k != 2}),
         "segment 'output' (#2) has no region"),
        (lambda al: replace(al, regions={**al.regions, 4: Region(0, 1 << 20, 64)}),
         "region given for segment 4, but package 'synthetic' has 4 segments (0..3)"),
        (lambda al: replace(al, regions={**al.regions, 1: Region(0, 1 << 20, 512)}),
         "region of segment 'input' is too small: 512 bytes for a 1000-byte segment"),
        (lambda al: replace(al, regions={**al.regions, 1: Region(2, 2 * BANK, 1024)}),
         "region of segment 'input' is on unknown bank 2: pool 'tiny' has banks 0..1"),
        (lambda al: replace(al, regions={**al.regions, 1: Region(1, BANK - 64, 1024)}),
         "region of segment 'input' [0x3ffffc0, 0x40003c0) lies outside bank 1 "
         "[0x4000000, 0x8000000)"),
        (lambda al: replace(al, regions={**al.regions, 1: Region(0, BANK - 512, 1024)}),
         "region of segment 'input' [0x3fffe00, 0x4000200) lies outside bank 0 "
         "[0x0, 0x4000000)"),
        (lambda al: replace(al, regions={**al.regions, 3: Region(0, al.regions[1].start + 64,
                                                                     64)}),
         "regions of segments 'input' and 'activations' overlap: [0x1000, 0x1400) and "
         "[0x1040, 0x1080)"),
        (lambda al: replace(al, registers=(0, 1, 2)), "3 base registers given for 4 segments"),
        (lambda al: replace(al, registers=(0, 1, 2, 32)),
         "base register 32 of segment 'activations' is not in 0..31"),
        (lambda al: replace(al, registers=(4, 1, 4, 3)),
         "segments 'weights' and 'output' share base register 4"),
    ],
)
def test_bad_allocations(change, message):
    pkg = small_package()
    with pytest.raises(UserError) as exc:
        validate_allocation(pkg, change(good(pkg)), TINY)
    assert str(exc.value) == message


def test_overlap_behind_a_large_region_is_found():
    # [0, 4096) holds both later regions; sorted by start only the first pair is adjacent.
    pkg = small_package((4096, 64, 64, 64))
    regions = {0: Region(0, 0, 4096), 1: Region(0, 64, 64), 2: Region(0, 1024, 64),
               3: Region(0, 8192, 64)}
    with pytest.raises(UserError, match="'weights' and 'input' overlap"):
        validate_allocation(pkg, Allocation((0,), regions), TINY)
    regions[1] = Region(0, 8192 + 4096, 64)
    with pytest.raises(UserError, match="'weights' and 'output' overlap"):
        validate_allocation(pkg, Allocation((0,), regions), TINY)


def test_empty_regions_overlap_nothing():
    # An empty region holds no byte: inside another region or at its start it overlaps
    # nothing, so validation passes (returns None, raises nothing).
    pkg = small_package((4096, 0, 64, 64))
    regions = {0: Region(0, 0, 4096), 1: Region(0, 100, 0), 2: Region(0, 4096, 64),
               3: Region(0, 8192, 64)}
    assert validate_allocation(pkg, Allocation((0,), regions), TINY) is None
    at_start = {**regions, 1: Region(0, 4096, 0)}
    assert validate_allocation(pkg, Allocation((0,), at_start), TINY) is None
    # The same place with one byte more is an overlap: [100, 101) lies in [0, 4096).
    with pytest.raises(UserError) as exc:
        validate_allocation(pkg, Allocation((0,), {**regions, 1: Region(0, 100, 1)}), TINY)
    assert str(exc.value) == ("regions of segments 'weights' and 'input' overlap: "
                              "[0x0, 0x1000) and [0x64, 0x65)")
    # Nor does an empty region hide an overlap of two others: 'activations' [4096 + 32,
    # 4096 + 96) runs into 'output' [4096, 4160), with the empty 'input' at 4096 between them.
    hidden = {**at_start, 3: Region(0, 4096 + 32, 64)}
    with pytest.raises(UserError) as exc:
        validate_allocation(pkg, Allocation((0,), hidden), TINY)
    assert str(exc.value) == ("regions of segments 'output' and 'activations' overlap: "
                              "[0x1000, 0x1040) and [0x1020, 0x1060)")


def test_regions_of_other_allocations_are_not_its_business():
    # Two tenants' allocations are validated separately; the allocator keeps them apart.
    pkg = small_package()
    a = DdrAllocator(TINY)
    one = make_allocation(pkg, [0], TINY, a, tenant=1)
    two = make_allocation(pkg, [1], TINY, a, tenant=2)
    spans = sorted((r.start, r.end) for al in (one, two) for r in al.regions.values())
    assert all(x[1] <= y[0] for x, y in itertools.pairwise(spans))
