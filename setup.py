"""Builds fvir's one compiled module, the simulator's int8 instruction semantics and frame loop
(fvir/backend/_engine.c, _conv_kernel.c); the rest of the project's metadata is in
pyproject.toml. -g0: Python's default -g doubles the build time (3.8 s -> 2.4 s here) for
debug information nobody reads; -O3: -O2 leaves the requantization loops unvectorized (the
ResNet-50 numerics 0.065 -> 0.106 s)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "fvir.backend._engine", ["fvir/backend/_engine.c", "fvir/backend/_conv_kernel.c"],
    depends=["fvir/backend/_engine.h"],
    extra_compile_args=["-O3", "-g0", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)])
