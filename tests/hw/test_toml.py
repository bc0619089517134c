"""Hardware from TOML files (`--hw FILE`): valid files, base + override, and one exact,
one-line error per kind of mistake."""

import re
from pathlib import Path

import pytest

from fvir.errors import UserError
from fvir.hw import BIG_CORE, PAPER_U200, PRESETS, TINY, CoreConfig, PoolConfig, load_hw, to_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hw" / "custom.toml"

FULL = """\
name = "two-b512"
num_cores = 2
num_banks = 1
cores_per_bank = 2
bank_bandwidth_gbps = 19.25
bank_bytes = "16 GiB"

[core]
pp = 4
icp = 8
ocp = 8
clock_mhz = 300
fmap_buffer_bytes = 65536
weight_buffer_bytes = "288 KiB"
bias_buffer_bytes = "32 KiB"
"""


def write(tmp_path: Path, text: str, name: str = "hw.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_file(tmp_path):
    pool = load_hw(write(tmp_path, FULL))
    assert pool == PoolConfig(
        name="two-b512", core=PAPER_U200.core, num_cores=2, num_banks=1, cores_per_bank=2,
        bank_bandwidth_gbps=19.25, bank_bytes=16 * 2**30)
    assert pool.core.config_hash() == PAPER_U200.core.config_hash()


def test_example_file_loads():
    pool = load_hw(str(EXAMPLE))
    assert pool.name == "u200-half"
    assert (pool.num_cores, pool.num_banks, pool.cores_per_bank) == (8, 2, 4)
    assert pool.core == PAPER_U200.core
    assert pool.ops_per_cycle == 8 * 512


def test_base_and_override(tmp_path):
    path = write(tmp_path, 'base = "paper-u200"\nnum_cores = 8\nnum_banks = 2\n'
                           '[core]\nclock_mhz = 250\n', name="half.toml")
    pool = load_hw(path)
    assert pool.name == "half"  # a modified preset is named after its file
    assert (pool.num_cores, pool.num_banks) == (8, 2)
    assert pool.core == CoreConfig(**{**PAPER_U200.core.__dict__, "clock_mhz": 250.0})
    assert pool.bank_bandwidth_gbps == PAPER_U200.bank_bandwidth_gbps


def test_presets_by_name_and_round_trip(tmp_path):
    assert load_hw("paper-u200") is PAPER_U200
    assert load_hw("big-core") is BIG_CORE
    assert load_hw("tiny") is TINY
    for pool in PRESETS.values():
        again = load_hw(write(tmp_path, to_toml(pool), name=f"{pool.name}.toml"))
        assert again == pool


@pytest.mark.parametrize(("text", "problem"), [
    ("numcores = 4\n",
     "unknown key 'numcores' (valid keys: base, name, num_cores, num_banks, cores_per_bank, "
     "bank_bandwidth_gbps, bank_bytes, core)"),
    ('base = "tiny"\n[core]\nppp = 4\n',
     "unknown key 'core.ppp' (valid keys in [core]: pp, icp, ocp, clock_mhz, "
     "fmap_buffer_bytes, weight_buffer_bytes, bias_buffer_bytes, data_bits, "
     "port_bytes_per_cycle)"),
    ('base = "tiny"\n[core]\npp = "4"\n', "core.pp: expected an integer, got string '4'"),
    ('base = "tiny"\nnum_cores = true\n', "num_cores: expected an integer, got boolean True"),
    ('base = "tiny"\nnum_cores = 2.5\n', "num_cores: expected an integer, got float 2.5"),
    ('base = "tiny"\nbank_bandwidth_gbps = "fast"\n',
     "bank_bandwidth_gbps: expected a number, got string 'fast'"),
    ('base = "tiny"\n[core]\nfmap_buffer_bytes = "64 KB"\n',
     "core.fmap_buffer_bytes: expected a byte count (an integer, or a string like \"64 KiB\"), "
     "got string '64 KB'"),
    ('base = "tiny"\ncore = 3\n', "core: expected a table ([core]), got integer 3"),
    ("base = 1\n", "base: expected a string, got integer 1"),
    ('base = "u250"\n', "base: unknown preset 'u250' (valid: paper-u200, big-core, tiny)"),
    ('base = "tiny"\n[core]\npp = 0\n', "core.pp: must be a positive integer, got 0"),
    ('base = "paper-u200"\nnum_cores = 20\n',
     "num_cores: 20 cores do not fit in 4 banks x 4 cores per bank"),
    ('base = "paper-u200"\n[core]\nweight_buffer_bytes = "32 MiB"\n',
     "core.weight_buffer_bytes: 33554432 bytes exceeds the 16 MiB that the ISA's buffer "
     "addresses reach"),
    # issue 16: non-finite and absurd values (i64 overflow in tile attributes, before)
    ('base = "tiny"\n[core]\nclock_mhz = inf\n',
     "core.clock_mhz: must be a finite number, got inf"),
    ('base = "tiny"\n[core]\nclock_mhz = nan\n',
     "core.clock_mhz: must be a positive number, got nan"),
    ('base = "tiny"\n[core]\nclock_mhz = 1e308\n',
     "core.clock_mhz: must be between 1 and 100000, got 1e+308"),
    ('base = "tiny"\nbank_bandwidth_gbps = 1e-300\n',
     "bank_bandwidth_gbps: must be between 0.01 and 1e+12, got 1e-300"),
    ('base = "tiny"\n[core]\nport_bytes_per_cycle = 1e-300\n',
     "core.port_bytes_per_cycle: must be between 0.01 and 1e+12, got 1e-300"),
    ('base = "tiny"\n[core]\npp = 1000000\n', "core.pp: must be between 1 and 4096, got 1000000"),
    ('base = "tiny"\nbank_bytes = 1000000000000000000\n',
     "bank_bytes: must be between 1 and 2.81475e+14, got 1000000000000000000"),
    (FULL.replace("num_banks = 1\n", ""),
     "missing key 'num_banks' (or start from a preset: base = \"paper-u200\")"),
    (FULL.replace("icp = 8\n", ""),
     "missing key 'core.icp' (or start from a preset: base = \"paper-u200\")"),
])
def test_errors_name_file_and_key(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as exc:
        load_hw(path)
    assert str(exc.value) == f"{path}: {problem}"


def test_syntax_error_is_one_line(tmp_path):
    path = write(tmp_path, "num_cores = \n")
    with pytest.raises(UserError) as exc:
        load_hw(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert "line 1" in message and "\n" not in message


def test_missing_file_and_unknown_name(tmp_path):
    with pytest.raises(UserError) as exc:
        load_hw(str(tmp_path / "nope.toml"))
    assert str(exc.value) == f"{tmp_path / 'nope.toml'}: no such file"
    with pytest.raises(UserError) as exc:
        load_hw("u250")
    assert str(exc.value) == (
        "unknown hardware 'u250': not a preset (paper-u200, big-core, tiny) nor a .toml file")


def test_size_units(tmp_path):
    text = FULL.replace('"288 KiB"', '"1 MiB"').replace("65536", '"4096 B"')
    pool = load_hw(write(tmp_path, text))
    assert pool.core.weight_buffer_bytes == 2**20
    assert pool.core.fmap_buffer_bytes == 4096


def test_port_bandwidth_key(tmp_path):
    """`core.port_bytes_per_cycle`: optional (32, the DPU's two 128-bit AXI masters), read as a
    number, written by `to_toml`, validated with the key named."""
    pool = load_hw(write(tmp_path, 'base = "paper-u200"\n[core]\nport_bytes_per_cycle = 16\n'))
    assert pool.core.port_bytes_per_cycle == 16.0
    assert pool.core.config_hash() != PAPER_U200.core.config_hash()
    assert "port_bytes_per_cycle = 16.0" in to_toml(pool)
    assert load_hw(write(tmp_path, to_toml(pool), name="again.toml")) == pool
    # Without it (and without a base), the default applies.
    text = to_toml(PAPER_U200).replace("port_bytes_per_cycle = 32.0\n", "")
    assert load_hw(write(tmp_path, text, name="nobase.toml")).core == PAPER_U200.core
    for bad, problem in (("0", "must be a positive number, got 0.0"),
                         ('"32"', "expected a number, got string '32'")):
        path = write(tmp_path, f'base = "tiny"\n[core]\nport_bytes_per_cycle = {bad}\n',
                     name="bad.toml")
        with pytest.raises(UserError, match=re.escape(f"bad.toml: core.port_bytes_per_cycle: "
                                                      f"{problem}")):
            load_hw(path)
