"""Hardware presets and validation. Expected figures come from the paper's artifact (16 cores
of 512 ops/cycle, 4 cores per DDR bank, U200 at 19.25 GB/s per bank) and DPU documentation
(PG338: ops/cycle = PP*ICP*OCP*2; DPU-TRD: B512 uses 2/9/1 UltraRAMs), not from the code."""

from dataclasses import replace

import pytest

from fvir.errors import UserError
from fvir.hw import BIG_CORE, PAPER_U200, PRESETS, TINY, CoreConfig, HwConfigError, PoolConfig
from fvir.isa.spec import MAX_BUFFER_BYTES

KiB = 1024


def test_paper_u200_is_the_artifact():
    p = PAPER_U200
    assert p.name == "paper-u200"
    assert p.num_cores == 16
    assert (p.core.pp, p.core.icp, p.core.ocp) == (4, 8, 8)  # DPU B512
    assert p.core.macs_per_cycle == 256
    assert p.core.ops_per_cycle == 4 * 8 * 8 * 2 == 512
    assert p.ops_per_cycle == 8192
    assert p.num_banks == 4 and p.cores_per_bank == 4
    assert p.bank_bandwidth_gbps == 19.25
    assert p.total_bandwidth_gbps == 77.0
    assert p.core.clock_mhz == 300.0
    assert p.core.peak_gops == pytest.approx(153.6)  # fidelity.md: B512 at 300 MHz
    assert p.peak_gops == pytest.approx(2457.6)
    assert p.bank_bytes == 16 * 2**30  # a 16 GB DDR4 channel of the U200
    assert p.core.data_bits == 8


def test_paper_u200_buffers_from_uram_counts():
    # U_BANK_IMG 2, U_BANK_WGT 9, U_BANK_BIAS 1 blocks of 4096 x 64 data bits (32 KiB).
    c = PAPER_U200.core
    assert (c.fmap_buffer_bytes, c.weight_buffer_bytes, c.bias_buffer_bytes) == (
        2 * 32 * KiB, 9 * 32 * KiB, 32 * KiB)


def test_paper_u200_four_cores_per_bank():
    assert [PAPER_U200.bank_of(k) for k in range(16)] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert list(PAPER_U200.cores_of_bank(2)) == [8, 9, 10, 11]
    assert all(PAPER_U200.bank_of(k) == b
               for b in range(4) for k in PAPER_U200.cores_of_bank(b))
    with pytest.raises(ValueError, match=r"core 16 is not in 0\.\.15"):
        PAPER_U200.bank_of(16)
    with pytest.raises(ValueError, match=r"bank 4 is not in 0\.\.3"):
        PAPER_U200.cores_of_bank(4)


def test_big_core_is_the_same_machine_as_one_core():
    b = BIG_CORE
    assert b.num_cores == 1
    assert b.core.ops_per_cycle == 8192 == PAPER_U200.ops_per_cycle
    assert b.core.macs_per_cycle == 4096
    assert b.core.icp == b.core.ocp  # as in every DPU configuration
    # 16x one core's buffers: the pool's total on-chip memory.
    for key in ("fmap_buffer_bytes", "weight_buffer_bytes", "bias_buffer_bytes"):
        assert getattr(b.core, key) == 16 * getattr(PAPER_U200.core, key)
    # All four banks' bandwidth and capacity.
    assert b.total_bandwidth_gbps == pytest.approx(4 * 19.25)
    assert b.num_banks * b.bank_bytes == PAPER_U200.num_banks * PAPER_U200.bank_bytes
    assert b.core.clock_mhz == PAPER_U200.core.clock_mhz


def test_tiny_is_small():
    t = TINY
    assert 2 <= t.num_cores <= 4
    assert t.num_banks >= 2  # so tests see more than one bank
    assert t.core.ops_per_cycle < PAPER_U200.core.ops_per_cycle
    assert t.core.fmap_buffer_bytes < PAPER_U200.core.fmap_buffer_bytes
    assert [t.bank_of(k) for k in range(t.num_cores)] == sorted(
        k // t.cores_per_bank for k in range(t.num_cores))


@pytest.mark.parametrize("pool", list(PRESETS.values()), ids=list(PRESETS))
def test_presets_fit_the_isa(pool):
    c = pool.core
    assert max(c.fmap_buffer_bytes, c.weight_buffer_bytes, c.bias_buffer_bytes) <= \
        MAX_BUFFER_BYTES
    assert PRESETS[pool.name] is pool


# --- config_hash ---------------------------------------------------------------------------


def test_config_hash_is_stable():
    # Pinned: changing the canonical serialization must be deliberate (bump HASH_SCHEMA) since
    # package headers store these digests.
    assert PAPER_U200.core.config_hash() == CORE_HASH_B512
    h = PAPER_U200.config_hash()
    assert len(h) == 64 and int(h, 16) >= 0
    rebuilt = PoolConfig(**{**PAPER_U200.__dict__, "core": CoreConfig(**PAPER_U200.core.__dict__)})
    assert rebuilt.config_hash() == h
    assert replace(PAPER_U200, name="renamed").config_hash() == h  # hardware, not names
    assert replace(PAPER_U200.core, clock_mhz=300).config_hash() == PAPER_U200.core.config_hash()


# Changed when CoreConfig gained port_bytes_per_cycle (a new hashed core parameter).
CORE_HASH_B512 = "3cb7041298c47b1c66b54008139aaa17dad30980a439530be751a88ebb2650ad"


def test_config_hash_differs_across_presets():
    hashes = {p.config_hash() for p in PRESETS.values()}
    assert len(hashes) == len(PRESETS)
    assert len({p.core.config_hash() for p in PRESETS.values()}) == len(PRESETS)


@pytest.mark.parametrize(("key", "value"), [
    ("pp", 8), ("icp", 16), ("ocp", 16), ("clock_mhz", 250.0), ("fmap_buffer_bytes", 4096),
    ("weight_buffer_bytes", 4096), ("bias_buffer_bytes", 4096),
    ("port_bytes_per_cycle", 16.0),
])
def test_config_hash_sees_every_core_parameter(key, value):
    changed = replace(PAPER_U200, core=replace(PAPER_U200.core, **{key: value}))
    assert changed.core.config_hash() != PAPER_U200.core.config_hash()
    assert changed.config_hash() != PAPER_U200.config_hash()


@pytest.mark.parametrize("change", [
    {"num_cores": 13}, {"num_banks": 8, "cores_per_bank": 2}, {"cores_per_bank": 5},
    {"bank_bandwidth_gbps": 20.0}, {"bank_bytes": 2**30},
], ids=lambda c: ",".join(c))
def test_config_hash_sees_every_pool_parameter(change):
    assert replace(PAPER_U200, **change).config_hash() != PAPER_U200.config_hash()


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"pp": 0}, "core.pp: must be a positive integer, got 0"),
    ({"icp": 2.0}, "core.icp: must be a positive integer, got 2.0"),
    ({"ocp": True}, "core.ocp: must be a positive integer, got True"),
    ({"clock_mhz": -1}, "core.clock_mhz: must be a positive number, got -1"),
    ({"fmap_buffer_bytes": 32 * 2**20},
     "core.fmap_buffer_bytes: 33554432 bytes exceeds the 16 MiB that the ISA's buffer "
     "addresses reach"),
    ({"weight_buffer_bytes": 0}, "core.weight_buffer_bytes: must be a positive integer, got 0"),
    ({"bias_buffer_bytes": 1026},
     "core.bias_buffer_bytes: must be a multiple of 4 (int32 biases), got 1026"),
    ({"data_bits": 16}, "core.data_bits: only 8-bit (int8) cores are supported, got 16"),
])
def test_core_validation(change, message):
    with pytest.raises(HwConfigError) as exc:
        replace(PAPER_U200.core, **change)
    assert str(exc.value) == message
    assert isinstance(exc.value, UserError)


@pytest.mark.parametrize(("change", "message"), [
    ({"num_cores": 20}, "num_cores: 20 cores do not fit in 4 banks x 4 cores per bank"),
    ({"num_cores": 8}, "num_banks: bank 3 would have no cores (8 cores, 4 per bank)"),
    ({"num_cores": 300, "num_banks": 300, "cores_per_bank": 1},
     "num_cores: at most 255 cores (the ISA's SYNC barrier counts), got 300"),
    ({"num_banks": 0}, "num_banks: must be a positive integer, got 0"),
    ({"cores_per_bank": -4}, "cores_per_bank: must be a positive integer, got -4"),
    ({"bank_bandwidth_gbps": 0}, "bank_bandwidth_gbps: must be a positive number, got 0"),
    ({"bank_bytes": 0}, "bank_bytes: must be a positive integer, got 0"),
    ({"name": ""}, "name: must be a non-empty string, got ''"),
])
def test_pool_validation(change, message):
    with pytest.raises(HwConfigError) as exc:
        replace(PAPER_U200, **change)
    assert str(exc.value) == message


def test_summary_mentions_the_key_figures():
    text = PAPER_U200.summary()
    for part in ("paper-u200", "16 x core PP4 x ICP8 x OCP8", "512 ops/cycle", "300 MHz",
                 "2457.6 GOP/s", "4 banks x 19.25 GB/s", "4 cores per bank", "64 KiB"):
        assert part in text


def test_port_bandwidth_of_the_presets():
    """Two 128-bit AXI data masters per DPU core: 32 B/cycle; a lone core is port-bound on the
    U200 (bank ~64.2), the big core is bank-bound (port 512 > bank ~256.7)."""
    assert PAPER_U200.core.port_bytes_per_cycle == 32.0
    assert PAPER_U200.core_peak_bytes_per_cycle == 32.0
    big = PRESETS["big-core"]
    assert big.core.port_bytes_per_cycle == 16 * 32
    assert big.core_peak_bytes_per_cycle == pytest.approx(big.bank_bytes_per_cycle)
    tiny = PRESETS["tiny"]
    assert tiny.core_peak_bytes_per_cycle == tiny.bank_bytes_per_cycle == 8.0
    # 32 and 32.0 are the same port: stored as a float, hashed equally.
    same = replace(PAPER_U200.core, port_bytes_per_cycle=32)
    assert same == PAPER_U200.core
    assert same.config_hash() == PAPER_U200.core.config_hash()


@pytest.mark.parametrize("value", [0, -1, 0.0, True, "32", None])
def test_port_bandwidth_validation(value):
    with pytest.raises(HwConfigError,
                       match=r"core\.port_bytes_per_cycle: must be a positive number"):
        replace(PAPER_U200.core, port_bytes_per_cycle=value)
