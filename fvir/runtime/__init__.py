"""The runtime: DDR allocation of a tenant's segments (`memory`) and the dynamic linker that
binds a compiled package to the cores and regions a tenant has now (`linker`)."""

from fvir.runtime.linker import (
    BALANCES,
    PHASES,
    SYNC_CYCLES,
    Executable,
    PreparedPackage,
    link,
    lpt_slots,
    prepare,
    snake_slots,
)
from fvir.runtime.memory import (
    ALIGNMENT,
    Allocation,
    DdrAllocator,
    Region,
    allocate_segments,
    make_allocation,
    validate_allocation,
)

__all__ = [
    "ALIGNMENT",
    "BALANCES",
    "PHASES",
    "SYNC_CYCLES",
    "Allocation",
    "DdrAllocator",
    "Executable",
    "PreparedPackage",
    "Region",
    "allocate_segments",
    "link",
    "lpt_slots",
    "make_allocation",
    "prepare",
    "snake_slots",
    "validate_allocation",
]
