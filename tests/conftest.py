"""Suite-wide settings. Hypothesis runs derandomized by default so that every run (and CI)
tries the same examples; `HYPOTHESIS_PROFILE=explore pytest` searches with fresh randomness."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
