"""ONNX op -> dnn op translators, one module per op family, registered in one table.

1. `registry`: the table `OPS` and the `translator` decorator.
2. `shape`: pass-through ops, Shape/Size, Cast, reshaping, Concat, Slice, Gather.
3. `window`: Conv and pooling (1-D as 2-D), and the zero Pad folded into them.
4. `layers`: Gemm, elementwise arithmetic and activations (an image times or plus a
   per-channel constant, HardSigmoid and HardSwish as 1x1 depthwise convs), the softmax
   family, BatchNormalization.
5. `recurrent`: LSTM, GRU, RNN.
6. `transformer`: MatMul (dense over all positions, or two activations), LayerNormalization,
   Gelu.
"""

from fvir.frontend.translate import layers, recurrent, shape, transformer, window
from fvir.frontend.translate.registry import NO_FOLD, OPS

__all__ = ["NO_FOLD", "OPS", "layers", "recurrent", "shape", "transformer", "window"]
