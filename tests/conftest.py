"""Suite-wide settings. Hypothesis runs derandomized by default so that every run (and CI)
tries the same examples; `HYPOTHESIS_PROFILE=explore pytest` searches with fresh randomness."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def _package_cache(tmp_path_factory):
    """`fv run` and `fv cloud` keep compiled packages in a cache directory (fvir/cache.py):
    the suite's goes to a temporary directory, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FVIR_CACHE", str(tmp_path_factory.mktemp("fvir-cache")))
        yield
