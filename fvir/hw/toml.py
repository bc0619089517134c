"""Hardware descriptions from TOML files (`--hw FILE`), and `load_hw` for presets or files.

Format (examples/hw/custom.toml is a commented example; keys are the `PoolConfig` and
`CoreConfig` field names):

    base = "paper-u200"          # optional: start from a preset and override what follows
    name = "u200-8core"          # optional: defaults to the file name without .toml
    num_cores = 8
    num_banks = 2
    cores_per_bank = 4
    bank_bandwidth_gbps = 19.25  # GB/s = 10**9 bytes/s
    bank_bytes = "16 GiB"        # sizes: an integer byte count or "<n> B|KiB|MiB|GiB"

    [core]
    pp = 4
    icp = 8
    ocp = 8
    clock_mhz = 300
    fmap_buffer_bytes = "64 KiB"
    weight_buffer_bytes = "288 KiB"
    bias_buffer_bytes = "32 KiB"
    port_bytes_per_cycle = 32   # the core's DDR port: two 128-bit AXI data masters

Without `base`, every key except `name` (and `core.data_bits`, which defaults to 8, and
`core.port_bytes_per_cycle`, which defaults to 32) is required. Every mistake is a one-line
`UserError` that starts with the file name and names the
key: an unknown key (with the valid ones), a wrong type, a missing key, an invalid value, an
unknown preset (with the valid ones), or a TOML syntax error.

Numbers must be finite and within `fvir.hw.config.RANGES`: pp, icp, ocp 1-4096; clock_mhz
1-100000; port_bytes_per_cycle and bank_bandwidth_gbps 0.01-1e12; bank_bytes up to 2^48 (256
TiB); counts of cores and banks up to 2^20 (and num_cores up to the ISA's SYNC limit).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fvir.errors import UserError
from fvir.hw.config import CoreConfig, HwConfigError, PoolConfig, format_size
from fvir.hw.presets import PRESETS

# Key -> kind, in the order `to_toml` writes them.
POOL_KEYS = {
    "name": "string",
    "num_cores": "integer",
    "num_banks": "integer",
    "cores_per_bank": "integer",
    "bank_bandwidth_gbps": "number",
    "bank_bytes": "size",
}
CORE_KEYS = {
    "pp": "integer",
    "icp": "integer",
    "ocp": "integer",
    "clock_mhz": "number",
    "fmap_buffer_bytes": "size",
    "weight_buffer_bytes": "size",
    "bias_buffer_bytes": "size",
    "data_bits": "integer",
    "port_bytes_per_cycle": "number",
}
OPTIONAL_CORE_KEYS = {"data_bits", "port_bytes_per_cycle"}

_SIZE = re.compile(r"\s*(\d+)\s*(B|KiB|MiB|GiB)\s*")
_UNITS = {"B": 0, "KiB": 10, "MiB": 20, "GiB": 30}
_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "size": 'a byte count (an integer, or a string like "64 KiB")',
}


def _toml_type(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table",
             list: "array"}
    return names.get(type(value), type(value).__name__)


def _convert(key: str, kind: str, value: object) -> Any:
    """`value` of TOML key `key` as the Python value its field takes, or a HwConfigError."""
    ok: Any = None
    if kind == "string" and isinstance(value, str):
        ok = value
    elif kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        ok = value
    elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        ok = float(value)
    elif kind == "size" and isinstance(value, int) and not isinstance(value, bool):
        ok = value
    elif kind == "size" and isinstance(value, str):
        m = _SIZE.fullmatch(value)
        if m:
            ok = int(m.group(1)) << _UNITS[m.group(2)]
    if ok is None:
        raise HwConfigError(key, f"expected {_EXPECTED[kind]}, got {_toml_type(value)} {value!r}")
    return ok


def _check_keys(table: dict[str, Any], valid: dict[str, str], prefix: str) -> None:
    for key in table:
        if key not in valid:
            raise UserError(
                f"unknown key '{prefix}{key}' (valid keys{' in [core]' if prefix else ''}: "
                f"{', '.join(valid)})"
            )


def parse_hw(data: dict[str, Any], default_name: str) -> PoolConfig:
    """A `PoolConfig` from parsed TOML `data`; errors name the key but not the file."""
    _check_keys(data, {"base": "string", **POOL_KEYS, "core": "table"}, "")
    core_table = data.get("core", {})
    if not isinstance(core_table, dict):
        raise HwConfigError("core", f"expected a table ([core]), got {_toml_type(core_table)} "
                                    f"{core_table!r}")
    _check_keys(core_table, CORE_KEYS, "core.")

    pool: dict[str, Any] = {}
    core: dict[str, Any] = {}
    if "base" in data:
        base = _convert("base", "string", data["base"])
        if base not in PRESETS:
            raise HwConfigError("base", f"unknown preset '{base}' (valid: {', '.join(PRESETS)})")
        preset = PRESETS[base]
        core = asdict(preset.core)
        pool = {k: v for k, v in asdict(preset).items() if k != "core"}
    pool["name"] = default_name  # a modified preset is not the preset: name it after the file
    pool.update({k: _convert(k, POOL_KEYS[k], v) for k, v in data.items() if k in POOL_KEYS})
    core.update({k: _convert(f"core.{k}", CORE_KEYS[k], v) for k, v in core_table.items()})

    hint = ' (or start from a preset: base = "paper-u200")'
    for key in POOL_KEYS:
        if key not in pool:
            raise UserError(f"missing key '{key}'{hint}")
    for key in CORE_KEYS:
        if key not in core and key not in OPTIONAL_CORE_KEYS:
            raise UserError(f"missing key 'core.{key}'{hint}")
    return PoolConfig(core=CoreConfig(**core), **pool)


def load_toml(path: str | os.PathLike[str]) -> PoolConfig:
    """The pool described by the TOML file `path`."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: not UTF-8 (byte {exc.object[exc.start]:#04x} "
                        f"at offset {exc.start})") from None
    try:
        return parse_hw(data, default_name=path.stem)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


def load_hw(spec: str | os.PathLike[str]) -> PoolConfig:
    """The hardware named by `spec`: a preset name (`paper-u200`, `big-core`, `tiny`) or the
    path of a TOML file."""
    text = os.fspath(spec)
    if text in PRESETS:
        return PRESETS[text]
    if text.endswith(".toml") or Path(text).is_file():
        return load_toml(text)
    raise UserError(
        f"unknown hardware '{text}': not a preset ({', '.join(PRESETS)}) nor a .toml file"
    )


def to_toml(pool: PoolConfig) -> str:
    """`pool` in the TOML format above (without `base`); `load_toml` reads it back."""

    def value(kind: str, v: Any) -> str:
        if kind == "size":
            text = format_size(v)
            return f'"{text}"' if not text.endswith(" B") else str(v)
        if kind == "string":
            return json.dumps(v)  # a TOML basic string
        return repr(v) if kind == "number" else str(v)

    lines = [f"{k} = {value(kind, getattr(pool, k))}" for k, kind in POOL_KEYS.items()]
    lines += ["", "[core]"]
    lines += [f"{k} = {value(kind, getattr(pool.core, k))}" for k, kind in CORE_KEYS.items()]
    return "\n".join(lines) + "\n"
