"""Recurrent models: a stacked LSTM, a stacked GRU and a CRNN text recogniser.

- `lstm`: 2 stacked unidirectional LSTM layers, input 512, hidden 512, over a 32-step sequence
  with batch 1 (input [32, 1, 512], output the top layer's hidden states [32, 1, 512]).
  Parameters 2 x 4H(I + H + 2) = 4,202,496 (two bias vectors per gate, as ONNX and PyTorch
  store them), 134 MMACs.
- `gru`: the same shape with GRU cells: 2 layers, input 512, hidden 512, seq 32, batch 1,
  linear_before_reset=1 (PyTorch/cuDNN GRU). Parameters 2 x 3H(I + H + 2) = 3,151,872, 101 MMACs.
- `crnn`: a CRNN after Shi et al., "An End-to-End Trainable Neural Network for Image-based
  Sequence Recognition" (TPAMI 2017), shortened: a 1x32x128 grey text-line image through six
  3x3 conv + BN + ReLU layers (64, 128, 256, 256, 512, 512) with max pools that halve the height
  (2x2, then 2x1 pools that keep the 32 columns), giving a [1, 512, 1, 32] map read as a
  32-step sequence of 512 features, two bidirectional LSTMs with 256 hidden units per direction,
  and a per-step FC to 37 classes (26 letters, 10 digits, CTC blank): output [32, 1, 37].

ONNX layout 0 throughout: sequences are [seq, batch, features]. Stacking reshapes each layer's
Y [seq, dirs, batch, hidden] to the next layer's [seq, batch, dirs * hidden].
"""

import onnx

from fvir.zoo.builder import GraphBuilder

SEQ, BATCH, FEATURES, HIDDEN, LAYERS = 32, 1, 512, 512, 2


def lstm(b: GraphBuilder) -> onnx.ModelProto:
    x = y = b.input("input", (SEQ, BATCH, FEATURES))
    for i in range(LAYERS):
        y = b.lstm(y, HIDDEN, name=f"lstm{i}")
    return b.finish([x], [y])


def gru(b: GraphBuilder) -> onnx.ModelProto:
    x = y = b.input("input", (SEQ, BATCH, FEATURES))
    for i in range(LAYERS):
        y = b.gru(y, HIDDEN, name=f"gru{i}")
    return b.finish([x], [y])


CRNN_CLASSES = 37
# (channels, max pool kernel = stride as (h, w), or None for no pool) per conv layer.
CRNN_CONVS: tuple[tuple[int, tuple[int, int] | None], ...] = (
    (64, (2, 2)),
    (128, (2, 2)),
    (256, None),
    (256, (2, 1)),
    (512, (2, 1)),
    (512, (2, 1)),
)


def crnn(b: GraphBuilder) -> onnx.ModelProto:
    x = y = b.input("input", (1, 1, 32, 128))
    for i, (ch, pool) in enumerate(CRNN_CONVS):
        y = b.conv(y, ch, 3, 1, 1, bias=False, name=f"conv{i}")
        y = b.relu(b.bn(y, name=f"conv{i}.bn"))
        if pool is not None:
            y = b.maxpool(y, pool, pool, name=f"pool{i}")
    n, c, h, w = b.shape(y)  # [1, 512, 1, 32]: one row of 32 columns
    y = b.transpose(b.reshape(y, (n, c, h * w)), (2, 0, 1), name="to_seq")  # [32, 1, 512]
    for i in range(2):
        y = b.lstm(y, 256, bidirectional=True, name=f"bilstm{i}")
    seq, batch, feat = b.shape(y)
    y = b.gemm(b.reshape(y, (seq * batch, feat)), CRNN_CLASSES, name="classifier")
    return b.finish([x], [b.reshape(y, (seq, batch, CRNN_CLASSES), name="logits")])
