"""Every zoo model compiles for every hardware preset (`pytest -m slow`: about 10 minutes).

A layer none of whose tiles fits a core's buffers with all its inputs reduces over chunks of
them inside its frames (split reductions), so the small `tiny` core compiles ResNet-50's
3x3x512 convs and VGG-16's 25,088-input fc6; a global pool whose window does not fit pools its
rows in parts (EfficientNet-B0's 112 x 112 squeeze-excitation pools). What is left is listed
with its reason.
"""

from __future__ import annotations

import pytest

from fvir import zoo
from fvir.compiler import compile_model
from fvir.hw.presets import PRESETS

NOT_YET = {
    ("convnext_tiny", "tiny"): "stage 2's LayerNorm rows of 384 channels need their 1,536 "
                               "bytes of int32 betas in tiny's 1 KiB bias buffer at once (a "
                               "ROW writing part of each row is not built)",
}


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_every_zoo_model_compiles_for_every_preset(name: str, preset: str) -> None:
    if (name, preset) in NOT_YET:
        pytest.xfail(NOT_YET[name, preset])
    package = compile_model(zoo.build(name), PRESETS[preset], fp32_shadow=False)
    assert len(package.frames) > 0
