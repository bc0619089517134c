"""Builds fvir's one compiled module, the int8 CONV instruction (fvir/backend/_engine.c); the
rest of the project's metadata is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "fvir.backend._engine", ["fvir/backend/_engine.c", "fvir/backend/_conv_kernel.c"],
    depends=["fvir/backend/_engine.h"],
    extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)])
