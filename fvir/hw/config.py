"""Hardware description: one core (`CoreConfig`) and the pool of cores around it (`PoolConfig`).

The static compiler reads only the core: it tiles every layer to fit one core's buffers and
parallelism, so a package is independent of how many cores a tenant later gets. The dynamic
linker, the simulator and the hypervisor read the pool: how many cores, which DDR bank each core
sits on and how much bandwidth a bank has (the paper's artifact: 16 cores, four per DDR bank).

Both are frozen dataclasses, validated on construction; a bad value raises `HwConfigError`, a
`UserError` whose message names the key (`core.pp: must be a positive integer, got 0`), so the
TOML loader only has to prefix the file name. Every number must lie in `RANGES` (finite, and
wide enough for any FPGA core, yet narrow enough that cycle counts and byte counts derived from
it stay within 64-bit integers: `clock_mhz = 1e308` or a bandwidth of `1e-300` are mistakes,
not hardware). `config_hash()` is a digest of a canonical
serialization: the `.ifp` package header stores the core's hash to reject packages compiled for
other hardware. Presets live in `fvir.hw.presets`, the TOML format in `fvir.hw.toml`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from fvir.errors import UserError
from fvir.isa.spec import MAX_BUFFER_BYTES, MAX_SYNC_CORES

# Bumped whenever the meaning of a field changes, so old hashes stop matching.
HASH_SCHEMA = "fvir-hw/1"


class HwConfigError(UserError):
    """An invalid hardware parameter; `key` is its dotted TOML name (`core.pp`)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


# Accepted ranges (inclusive) of the numeric parameters, by key without the `core.` prefix.
RANGES: dict[str, tuple[float, float]] = {
    "pp": (1, 4096),
    "icp": (1, 4096),
    "ocp": (1, 4096),
    "clock_mhz": (1.0, 100_000.0),
    "port_bytes_per_cycle": (0.01, 1e12),
    "num_cores": (1, 1 << 20),  # the ISA's SYNC limit is checked separately
    "num_banks": (1, 1 << 20),
    "cores_per_bank": (1, 1 << 20),
    "bank_bandwidth_gbps": (0.01, 1e12),
    "bank_bytes": (1, 1 << 48),
}


def _in_range(key: str, value: float) -> None:
    lo, hi = RANGES[key.removeprefix("core.")]
    if not lo <= value <= hi:
        raise HwConfigError(key, f"must be between {lo:g} and {hi:g}, got {value!r}")


def _positive_int(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise HwConfigError(key, f"must be a positive integer, got {value!r}")
    if key.removeprefix("core.") in RANGES:
        _in_range(key, value)


def _positive_number(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise HwConfigError(key, f"must be a positive number, got {value!r}")
    if not math.isfinite(value):
        raise HwConfigError(key, f"must be a finite number, got {value!r}")
    _in_range(key, value)


def _count(n: int, noun: str) -> str:
    """`n` and its noun, plural unless one: "1 bank", "4 banks" (big-core has one of each)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_size(n: int) -> str:
    """`n` bytes in the largest binary unit that divides it exactly: 73728 -> "72 KiB"."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def _digest(payload: dict[str, Any]) -> str:
    text = json.dumps({"schema": HASH_SCHEMA, **payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class CoreConfig:
    """One DPU-style convolution core (Angel-Eye lineage).

    Per cycle the conv engine multiplies `pp` output pixels x `icp` input channels x `ocp`
    output channels, so it does pp*icp*ocp int8 MACs = 2*pp*icp*ocp ops (Xilinx's convention:
    PG338 "peak operations per cycle is equal to PP*ICP*OCP*2"). The three on-chip buffers hold
    int8 feature maps, int8 weights and int32 biases; each must be addressable by the ISA's
    buffer address fields.

    `port_bytes_per_cycle` is the core's own DDR port: the most bytes per cycle its LOAD and
    SAVE engines together can move, however idle its bank is. A DPUCZDX8G core moves its data
    through two AXI data masters, DPU0_M_AXI_DATA0/1 (design/fidelity.md section 5); each is
    128 bits wide on the MPSoC DPU (PG338; the width is recalled here, not re-verified), so at
    one beat per cycle the core moves 2 x 16 = 32 B/cycle. The simulator caps every transfer
    by its core's port (shared by the core's transfers in flight) as well as by its share of
    the bank; the compiler's estimate is min(port, bank / cores per bank)
    (`fvir.hw.cost.core_bytes_per_cycle`). The default is the DPU's 32.
    """

    pp: int  # pixel parallelism: output pixels (rows) per cycle
    icp: int  # input-channel parallelism
    ocp: int  # output-channel parallelism
    clock_mhz: float
    fmap_buffer_bytes: int
    weight_buffer_bytes: int
    bias_buffer_bytes: int
    data_bits: int = 8  # int8 is the hardware's datatype (see docs/ARCHITECTURE.md)
    port_bytes_per_cycle: float = 32.0  # two 128-bit AXI data masters (see above)

    def __post_init__(self) -> None:
        for key in ("pp", "icp", "ocp"):
            _positive_int(f"core.{key}", getattr(self, key))
        _positive_number("core.clock_mhz", self.clock_mhz)
        # 300 and 300.0 are the same clock: store a float so that equal configs hash equally.
        object.__setattr__(self, "clock_mhz", float(self.clock_mhz))
        for key in ("fmap_buffer_bytes", "weight_buffer_bytes", "bias_buffer_bytes"):
            value = getattr(self, key)
            _positive_int(f"core.{key}", value)
            if value > MAX_BUFFER_BYTES:
                raise HwConfigError(
                    f"core.{key}",
                    f"{value} bytes exceeds the {MAX_BUFFER_BYTES >> 20} MiB that the ISA's "
                    f"buffer addresses reach",
                )
        if self.bias_buffer_bytes % 4:
            raise HwConfigError(
                "core.bias_buffer_bytes",
                f"must be a multiple of 4 (int32 biases), got {self.bias_buffer_bytes}",
            )
        _positive_number("core.port_bytes_per_cycle", self.port_bytes_per_cycle)
        object.__setattr__(self, "port_bytes_per_cycle", float(self.port_bytes_per_cycle))
        if self.data_bits != 8:
            raise HwConfigError("core.data_bits",
                                f"only 8-bit (int8) cores are supported, got {self.data_bits!r}")

    @property
    def macs_per_cycle(self) -> int:
        return self.pp * self.icp * self.ocp

    @property
    def ops_per_cycle(self) -> int:
        return 2 * self.macs_per_cycle

    @property
    def peak_gops(self) -> float:
        """Peak GOP/s at `clock_mhz` (B512 at 300 MHz: 153.6)."""
        return self.ops_per_cycle * self.clock_mhz / 1000.0

    def config_hash(self) -> str:
        """Hex SHA-256 of every core parameter: what a compiled package depends on."""
        return _digest({"core": asdict(self)})


@dataclass(frozen=True)
class PoolConfig:
    """A pool of identical cores sharing DDR banks: cores `k*cores_per_bank` to
    `(k+1)*cores_per_bank - 1` sit on bank k. Bandwidth is in GB/s (10**9 bytes/s)."""

    name: str
    core: CoreConfig
    num_cores: int
    num_banks: int
    cores_per_bank: int
    bank_bandwidth_gbps: float
    bank_bytes: int  # DDR capacity of one bank

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise HwConfigError("name", f"must be a non-empty string, got {self.name!r}")
        if not isinstance(self.core, CoreConfig):
            raise HwConfigError("core", f"must be a CoreConfig, got {type(self.core).__name__}")
        for key in ("num_cores", "num_banks", "cores_per_bank", "bank_bytes"):
            _positive_int(key, getattr(self, key))
        _positive_number("bank_bandwidth_gbps", self.bank_bandwidth_gbps)
        object.__setattr__(self, "bank_bandwidth_gbps", float(self.bank_bandwidth_gbps))
        if self.num_cores > MAX_SYNC_CORES:
            raise HwConfigError("num_cores", f"at most {MAX_SYNC_CORES} cores (the ISA's SYNC "
                                             f"barrier counts), got {self.num_cores}")
        if self.cores_per_bank * self.num_banks < self.num_cores:
            raise HwConfigError(
                "num_cores",
                f"{self.num_cores} cores do not fit in {self.num_banks} banks x "
                f"{self.cores_per_bank} cores per bank",
            )
        if self.cores_per_bank * (self.num_banks - 1) >= self.num_cores:
            raise HwConfigError(
                "num_banks",
                f"bank {self.num_banks - 1} would have no cores ({self.num_cores} cores, "
                f"{self.cores_per_bank} per bank)",
            )

    # Topology

    def bank_of(self, core_id: int) -> int:
        """The DDR bank core `core_id` is attached to."""
        if not 0 <= core_id < self.num_cores:
            raise ValueError(f"core {core_id} is not in 0..{self.num_cores - 1}")
        return core_id // self.cores_per_bank

    def cores_of_bank(self, bank: int) -> range:
        """The cores attached to DDR bank `bank`."""
        if not 0 <= bank < self.num_banks:
            raise ValueError(f"bank {bank} is not in 0..{self.num_banks - 1}")
        start = bank * self.cores_per_bank
        return range(start, min(start + self.cores_per_bank, self.num_cores))

    # Derived figures

    @property
    def ops_per_cycle(self) -> int:
        return self.num_cores * self.core.ops_per_cycle

    @property
    def peak_gops(self) -> float:
        return self.num_cores * self.core.peak_gops

    @property
    def total_bandwidth_gbps(self) -> float:
        return self.num_banks * self.bank_bandwidth_gbps

    @property
    def bank_bytes_per_cycle(self) -> float:
        """A bank's bandwidth in bytes per core clock cycle (U200 at 300 MHz: ~64)."""
        return self.bank_bandwidth_gbps * 1e3 / self.core.clock_mhz

    @property
    def core_peak_bytes_per_cycle(self) -> float:
        """The most a core can move when it is alone on its bank: min(port, bank)."""
        return min(self.core.port_bytes_per_cycle, self.bank_bytes_per_cycle)

    def config_hash(self) -> str:
        """Hex SHA-256 of every hardware parameter (not the name): equal for equal hardware."""
        params = {k: v for k, v in asdict(self).items() if k != "name"}
        return _digest(params)

    def summary(self) -> str:
        """A few lines for `fv` to print."""
        c = self.core
        return "\n".join([
            f"{self.name}: {self.num_cores} x core PP{c.pp} x ICP{c.icp} x OCP{c.ocp} "
            f"({c.ops_per_cycle} ops/cycle) at {c.clock_mhz:g} MHz = {self.peak_gops:g} GOP/s",
            f"  buffers per core: fmap {format_size(c.fmap_buffer_bytes)}, weight "
            f"{format_size(c.weight_buffer_bytes)}, bias {format_size(c.bias_buffer_bytes)}; "
            f"DDR port {c.port_bytes_per_cycle:g} B/cycle",
            f"  DDR: {_count(self.num_banks, 'bank')} x {self.bank_bandwidth_gbps:g} GB/s, "
            f"{_count(self.cores_per_bank, 'core')} per bank, {format_size(self.bank_bytes)} "
            "per bank",
        ])
