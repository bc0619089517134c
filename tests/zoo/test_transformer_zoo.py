"""The zoo transformers: sizes counted by hand from their layer tables, and the importer's view
of them (ViT's LayerNormalization nodes, BERT's opset-16 LayerNorm chains and both models'
erf-form GELUs fused into dnn.layer_norm / dnn.gelu; attention as dnn.matmul)."""

from collections import Counter

from fvir import zoo
from fvir.frontend.onnx import import_model


def test_vit_size_by_hand():
    d, n, mlp = 192, 36, 768  # 96x96 image in 16x16 patches: 36 tokens
    linear = d * d + d
    block = 2 * 2 * d + 4 * linear + (d * mlp + mlp) + (mlp * d + d)
    params = (d * 3 * 16 * 16 + d) + n * d + 4 * block + 2 * d + (d * 10 + 10)
    macs_block = 4 * n * d * d + 2 * 3 * n * n * 64 + 2 * n * d * mlp
    macs = n * d * 3 * 16 * 16 + 4 * macs_block + d * 10
    assert zoo.stats("vit") == zoo.ModelStats(params, macs)


def test_bert_size_by_hand():
    d, s, ffn = 256, 64, 1024
    layer = 4 * (d * d + d) + (d * ffn + ffn) + (ffn * d + d) + 2 * 2 * d
    macs_layer = 4 * s * d * d + 2 * 4 * s * s * 64 + 2 * s * d * ffn
    assert zoo.stats("bert") == zoo.ModelStats(2 * d + 4 * layer, 4 * macs_layer)


def _ops(name: str) -> Counter:
    imported = import_model(zoo.build(name))
    return Counter(op.name for op in imported.module.walk())


def test_bert_decompositions_fuse():
    ops = _ops("bert")
    # embedding LN + 2 per layer; one GELU, 2 attention matmuls, 6 projections per layer
    # (each a 1x1 conv over the sequence's rows)
    assert (ops["dnn.layer_norm"], ops["dnn.gelu"]) == (9, 4)
    assert (ops["dnn.matmul"], ops["dnn.conv2d"], ops["dnn.softmax"]) == (8, 24, 4)
    assert "dnn.host" not in ops


def test_vit_imports_transformer_ops():
    ops = _ops("vit")
    assert (ops["dnn.layer_norm"], ops["dnn.gelu"], ops["dnn.matmul"]) == (9, 4, 8)
    assert ops["dnn.host"] == 1  # the ReduceMean over tokens
