"""Every zoo model compiles for every hardware preset (`pytest -m slow`: about 10 minutes).

A layer none of whose tiles fits a core's buffers with all its inputs reduces over chunks of
them inside its frames (split reductions), so the small `tiny` core compiles ResNet-50's
3x3x512 convs and VGG-16's 25,088-input fc6; a global pool whose window does not fit pools its
rows in parts (EfficientNet-B0's 112 x 112 squeeze-excitation pools), and a LayerNorm whose
scale and bias do not fit loads them in parts of its channels (ConvNeXt-T's stages 3 and 4).
"""

from __future__ import annotations

import pytest

from fvir import zoo
from fvir.compiler import compile_model
from fvir.hw.presets import PRESETS


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_every_zoo_model_compiles_for_every_preset(name: str, preset: str) -> None:
    package = compile_model(zoo.build(name), PRESETS[preset], fp32_shadow=False)
    assert len(package.frames) > 0
