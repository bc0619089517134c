"""Shared fixtures of the cloud tests: two small CNNs (tests/compiler/models.py) compiled for
the tiny pool (4 cores, 2 DDR banks of 2 cores) and a library holding them."""

from __future__ import annotations

import pytest
from compiler import models  # tests/compiler, on the path as a package

from fvir.cloud.library import ModelLibrary
from fvir.compiler import compile_model
from fvir.hw import TINY
from fvir.ifp.package import Package


@pytest.fixture(scope="session")
def packages() -> dict[str, Package]:
    return {"residual": compile_model(models.residual(), TINY, fp32_shadow=False),
            "mobile": compile_model(models.mobile(), TINY, fp32_shadow=False)}


@pytest.fixture(scope="session")
def library(packages) -> ModelLibrary:
    lib = ModelLibrary(TINY)
    for name, pkg in packages.items():
        lib.add(name, pkg)
    return lib
