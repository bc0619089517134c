"""The built-in hardware presets, in one place.

paper-u200
    The FCCM'20 artifact: "16 cores with the parallelism of 512 ops/cycle, and each four cores
    locate in a separate DDR bank", on a Xilinx Alveo U200.

    - Core: a DPU B512, PP=4 x ICP=8 x OCP=8 = 256 int8 MAC = 512 ops/cycle (PG338 Table 8);
      the group's DPU is the Angel-Eye descendant, so this split of 512 is the natural one.
    - Clock: 300 MHz. The paper does not state it; DPU-class designs on VU9P-class parts and
      the Alveo DPUCAHX8H run at 300 MHz. 153.6 GOP/s per core, 2457.6 GOP/s for the pool.
    - Buffers: from the DPU-TRD's recommended UltraRAM counts for B512 (U_BANK_IMG 2,
      U_BANK_WGT 9, U_BANK_BIAS 1). A URAM288 block is 4096 x 72 bits; the 72-bit word is
      64 data bits plus 8 ECC bits, and the DPU's int8 banks use the 64 data bits, so a block
      holds 4096 x 8 B = 32 KiB: fmap 2 x 32 = 64 KiB, weights 9 x 32 = 288 KiB, bias 32 KiB
      (8192 int32 biases). Counting all 72 bits instead would give 72/324/36 KiB; the 64-bit
      reading is what an int8 datapath can use, and keeps tile sizes powers of two.
    - DDR: the U200's 4 DDR4 channels of 16 GiB at 19.25 GB/s each (UG1120), cores 4k..4k+3 on
      bank k. That is ~64 bytes per 300 MHz cycle per bank, ~16 per core when four are busy.
    - DDR port: 32 bytes per cycle per core, the DPU's two 128-bit AXI data masters
      (DPU0_M_AXI_DATA0/1; the 128-bit width is PG338's, recalled, not re-verified here). A
      core alone on its bank is bounded by its port (32), not the bank (64.2); two busy cores
      saturate a bank.

big-core
    The static single-core baseline: one core with the pool's total parallelism, 8192
    ops/cycle = 4096 MAC/cycle. Shape PP=16 x ICP=16 x OCP=16: every DPU configuration keeps
    ICP = OCP, and the largest (B4096) is 8 x 16 x 16, so doubling PP is the DPU's own way up
    (B512 -> B1024 also doubled PP). The alternative 4 x 32 x 32 wastes more on the narrow
    first layers; either is one TOML file away. It gets 16x a B512 core's buffers (1 MiB fmap,
    4.5 MiB weights, 512 KiB bias: the same total on-chip memory as the 16-core pool) and all
    four banks' bandwidth, modelled as one interleaved bank of 4 x 19.25 = 77 GB/s and 64 GiB.
    Its port scales with its parallelism, 16 x 32 = 512 B/cycle, so it is bounded by its bank
    (77 GB/s = 256.7 B/cycle at 300 MHz), not by its port: the baseline keeps all four banks.

tiny
    For fast tests: 4 cores of PP=2 x ICP=4 x OCP=4 (64 ops/cycle) on 2 banks of 2 cores, with
    buffers small enough that small test layers already need several tiles. Banks of 8 bytes
    per cycle and an 8-byte port per core (a port as wide as the bank): a lone core gets its
    whole bank, as the hand-computed schedules of the simulator tests assume, and two busy
    cores share it (4 each, the compiler's estimate min(8, 8 / 2)). The port cap itself is
    tested on variants with a narrower port.
"""

from __future__ import annotations

from fvir.hw.config import CoreConfig, PoolConfig

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

# One UltraRAM block's data capacity: 4096 words x 64 data bits (the other 8 bits are ECC).
URAM_BYTES = 4096 * 8

B512 = CoreConfig(
    pp=4,
    icp=8,
    ocp=8,
    clock_mhz=300.0,
    fmap_buffer_bytes=2 * URAM_BYTES,  # U_BANK_IMG 2
    weight_buffer_bytes=9 * URAM_BYTES,  # U_BANK_WGT 9
    bias_buffer_bytes=1 * URAM_BYTES,  # U_BANK_BIAS 1
    port_bytes_per_cycle=2 * 16,  # two 128-bit AXI data masters, one beat per cycle each
)

U200_BANK_GBPS = 19.25
U200_BANK_BYTES = 16 * GiB

PAPER_U200 = PoolConfig(
    name="paper-u200",
    core=B512,
    num_cores=16,
    num_banks=4,
    cores_per_bank=4,
    bank_bandwidth_gbps=U200_BANK_GBPS,
    bank_bytes=U200_BANK_BYTES,
)

BIG_CORE = PoolConfig(
    name="big-core",
    core=CoreConfig(
        pp=16,
        icp=16,
        ocp=16,
        clock_mhz=300.0,
        fmap_buffer_bytes=16 * B512.fmap_buffer_bytes,
        weight_buffer_bytes=16 * B512.weight_buffer_bytes,
        bias_buffer_bytes=16 * B512.bias_buffer_bytes,
        port_bytes_per_cycle=16 * B512.port_bytes_per_cycle,  # bounded by the bank instead
    ),
    num_cores=1,
    num_banks=1,
    cores_per_bank=1,
    bank_bandwidth_gbps=4 * U200_BANK_GBPS,
    bank_bytes=4 * U200_BANK_BYTES,
)

TINY = PoolConfig(
    name="tiny",
    core=CoreConfig(
        pp=2,
        icp=4,
        ocp=4,
        clock_mhz=300.0,
        fmap_buffer_bytes=8 * KiB,
        weight_buffer_bytes=16 * KiB,
        bias_buffer_bytes=1 * KiB,
        port_bytes_per_cycle=8.0,  # as wide as its bank (see above)
    ),
    num_cores=4,
    num_banks=2,
    cores_per_bank=2,
    bank_bandwidth_gbps=2.4,  # 8 bytes per cycle at 300 MHz
    bank_bytes=64 * MiB,
)

PRESETS: dict[str, PoolConfig] = {p.name: p for p in (PAPER_U200, BIG_CORE, TINY)}

DEFAULT_HW = PAPER_U200.name
"""The hardware every tool and pass compiles for unless told otherwise."""
