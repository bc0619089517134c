"""Where a package's MACs run: the fields and lines `fv compile`, `fv inspect` and `fv run`
print, and the warning when the accelerator does less than half of the work.

1. `mac_fields(package)`: the compiler's count (`Package.meta["macs"]`, from
   `fvir.ir.macs.mac_split`) as `accelerator_macs`, `host_macs`, `accelerator_mac_share` (None
   when the model has no MACs or the package predates the count) and `macs_by_op`.
2. `mac_text(fields)`: one line, the host's ops by MACs, largest first.
3. `mac_warning(fields, package)`: a one-line warning when nothing runs on the accelerator,
   or less than half of the MACs do; None otherwise.
"""

from __future__ import annotations

from typing import Any

from fvir.ifp.package import Package

WARN_BELOW = 0.5  # accelerator share of the MACs under which fv compile / fv run warn


def mac_fields(package: Package) -> dict[str, Any]:
    split = package.meta.get("macs")
    by_op: dict[str, dict[str, int]] = split if isinstance(split, dict) else {}
    accel = sum(by_op.get("accelerator", {}).values())
    host = sum(by_op.get("host", {}).values())
    total = accel + host
    return {
        "accelerator_macs": accel,
        "host_macs": host,
        "accelerator_mac_share": accel / total if total else None,
        "macs_by_op": by_op,
    }


def _count(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:g}"


def _host_ops(fields: dict[str, Any]) -> str:
    host = fields["macs_by_op"].get("host", {})
    return ", ".join(f"{op} {_count(n)}" for op, n in sorted(host.items(), key=lambda kv: -kv[1]))


def mac_text(fields: dict[str, Any]) -> str:
    """ "MACs: 1.82G, 99.6% on the accelerator (host: ConvTranspose 7.3M)"."""
    share = fields["accelerator_mac_share"]
    if share is None:
        return "MACs: none counted"
    total = fields["accelerator_macs"] + fields["host_macs"]
    host = f" (host: {_host_ops(fields)})" if fields["host_macs"] else ""
    return f"MACs: {_count(total)}, {100 * share:.1f}% on the accelerator{host}"


def mac_warning(fields: dict[str, Any], package: Package) -> str | None:
    """Why the user should look at the partition, in one line, or None."""
    if all(layer.kind == "host" for layer in package.layers):
        return "nothing runs on the accelerator: every layer is a host layer"
    share = fields["accelerator_mac_share"]
    if share is not None and share < WARN_BELOW:
        return (
            f"only {100 * share:.1f}% of the model's MACs run on the accelerator "
            f"(host: {_host_ops(fields)})"
        )
    return None
