"""Transformer encoders: a small ViT and a BERT-like encoder, in the node patterns PyTorch
exports (MatMul + Add projections over all positions, Reshape/Transpose head split, MatMul
Q·K^T, Div by sqrt(d), Softmax, MatMul with V, erf-form GELU).

- `vit`: a ViT after Dosovitskiy et al., "An Image is Worth 16x16 Words" (ICLR 2021), sized
  down: a 1x3x96x96 image, 16x16 patches by a stride-16 Conv (36 tokens), learned position
  embeddings, 4 pre-LN blocks of width 192 with 3 heads of 64 and an MLP of 768, a final
  LayerNormalization, the mean over tokens and a 10-class head. LayerNorm is the opset-17
  LayerNormalization node.
- `bert`: a BERT-like encoder after Devlin et al. (NAACL 2019) over precomputed token
  embeddings [1, 64, 256]: an embedding LayerNorm, then 4 post-LN layers of width 256 with
  4 heads of 64 and a feed-forward of 1024. LayerNorm is the chain PyTorch exports before
  opset 17 (ReduceMean ... Sqrt, Div, Mul, Add), so the model tests the importer's fusion.

Head size 64 in both, as in ViT-B and BERT-base: the 1/sqrt(64) scale is a power of two.
"""

import math

import onnx

from fvir.zoo.builder import GraphBuilder

VIT_IMAGE, VIT_PATCH, VIT_DIM, VIT_HEADS, VIT_MLP, VIT_DEPTH = 96, 16, 192, 3, 768, 4
VIT_CLASSES = 10
BERT_SEQ, BERT_DIM, BERT_HEADS, BERT_FFN, BERT_DEPTH = 64, 256, 4, 1024, 4


def _heads(b: GraphBuilder, x: str, heads: int, perm: tuple[int, ...], name: str) -> str:
    """[1, S, D] -> [1, S, H, d] -> transposed by `perm` (Q, V: [1, H, S, d]; K^T: [1, H, d, S])."""
    _, s, d = b.shape(x)
    return b.transpose(b.reshape(x, (1, s, heads, d // heads)), perm, name=name)


def attention(b: GraphBuilder, x: str, heads: int, name: str) -> str:
    """Multi-head self-attention over x [1, S, D], with its output projection."""
    _, s, d = b.shape(x)
    q = _heads(b, b.linear(x, d, name=f"{name}.q"), heads, (0, 2, 1, 3), f"{name}.q_heads")
    k = _heads(b, b.linear(x, d, name=f"{name}.k"), heads, (0, 2, 3, 1), f"{name}.k_heads")
    v = _heads(b, b.linear(x, d, name=f"{name}.v"), heads, (0, 2, 1, 3), f"{name}.v_heads")
    scores = b.scale(b.matmul(q, k, name=f"{name}.qk"), math.sqrt(d // heads))
    ctx = b.matmul(b.softmax(scores, name=f"{name}.softmax"), v, name=f"{name}.pv")
    merged = b.reshape(b.transpose(ctx, (0, 2, 1, 3), name=f"{name}.merge"), (1, s, d))
    return b.linear(merged, d, name=f"{name}.out")


def mlp(b: GraphBuilder, x: str, hidden: int, name: str) -> str:
    d = b.shape(x)[-1]
    return b.linear(b.gelu(b.linear(x, hidden, name=f"{name}.fc1")), d, name=f"{name}.fc2")


def vit(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, 3, VIT_IMAGE, VIT_IMAGE))
    p = b.conv(x, VIT_DIM, VIT_PATCH, VIT_PATCH, name="patch_embed")
    n = (VIT_IMAGE // VIT_PATCH) ** 2
    tokens = b.transpose(b.reshape(p, (1, VIT_DIM, n)), (0, 2, 1), name="tokens")
    pos = b.embedding("pos_embed", (1, n, VIT_DIM))
    y = b.add(tokens, pos, name="embed")
    for i in range(VIT_DEPTH):
        h = b.layer_norm(y, name=f"block{i}.ln1")
        y = b.add(y, attention(b, h, VIT_HEADS, f"block{i}.attn"))
        y = b.add(y, mlp(b, b.layer_norm(y, name=f"block{i}.ln2"), VIT_MLP, f"block{i}.mlp"))
    y = b.token_mean(b.layer_norm(y, name="norm"), name="pool")
    return b.finish([x], [b.gemm(y, VIT_CLASSES, name="head")])


def bert(b: GraphBuilder) -> onnx.ModelProto:
    x = b.input("input", (1, BERT_SEQ, BERT_DIM))
    y = b.layer_norm(x, decomposed=True, eps=1e-12, name="embed_ln")
    for i in range(BERT_DEPTH):
        a = attention(b, y, BERT_HEADS, f"layer{i}.attn")
        y = b.layer_norm(b.add(y, a), decomposed=True, eps=1e-12, name=f"layer{i}.ln1")
        f = mlp(b, y, BERT_FFN, f"layer{i}.ffn")
        y = b.layer_norm(b.add(y, f), decomposed=True, eps=1e-12, name=f"layer{i}.ln2")
    return b.finish([x], [y])


__all__ = ["attention", "bert", "mlp", "vit"]
