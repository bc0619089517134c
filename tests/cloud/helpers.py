"""A scenario builder around hand-made tenant specs, for the cloud tests."""

from __future__ import annotations

from fvir.cloud.scenario import scenario_from_dict


def make_scenario(tenants, duration=0.5, policy="private", **extra):
    """A scenario of `tenants` (TenantSpecs) with the other keys validated as from TOML."""
    sc = scenario_from_dict({"duration_s": duration, "policy": policy,
                             "tenants": [{"name": "x", "model": "unused", "share": 1.0,
                                          "cores": [[0, 1]]}],
                             **extra})
    sc.tenants = tenants
    return sc
