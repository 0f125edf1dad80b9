"""PyTorch reference for position prediction over text (Zhai et al. 2022) with a BERT encoder, for Tests/TrainingTests.

Written here from the paper, in float64 (stored as float32), on the building blocks of
make_audio_objective_fixtures.py: Hugging Face BertEmbeddings with the position table at zero (the objective zeroes
and freezes it: the input is the tokens alone) → word + token type 0 → LayerNorm → post-LN BERT layers → a linear
head naming each token's index; cross-entropy against 0 … T − 1 averaged over the B·T tokens of the windows' first T
tokens (the (B, T+1) window's last token is not read).

Writes Tests/TrainingTests/Fixtures/text_position_prediction.safetensors: tokens (B, T+1), param.<name> (our keys),
text_position.loss, text_position.grad.<name> (every trained parameter; the frozen position table has none).
Needs torch and safetensors.
"""
import torch
import torch.nn.functional as F

from make_audio_objective_fixtures import (REF, add_case, bert_layer, bert_shapes, f32, gradients, layer_norm, leaves, lin,
                                           meta_of, random_params, save)


def make_text_position():
    g = torch.Generator().manual_seed(23)
    B, T, V, C, HEADS, INTER, LAYERS, P = 3, 6, 11, 8, 2, 16, 2, 8
    shapes = [("bert.embeddings.word_embeddings.weight", (V, C)), ("bert.embeddings.token_type_embeddings.weight", (2, C)),
              ("bert.embeddings.LayerNorm.weight", (C,)), ("bert.embeddings.LayerNorm.bias", (C,))]
    for layer in range(LAYERS):
        shapes += bert_shapes(f"bert.encoder.layer.{layer}", C, INTER)
    shapes += [("head.weight", (P, C)), ("head.bias", (P,))]
    params = random_params(shapes, g)
    for name in ("bert.embeddings.word_embeddings.weight", "bert.embeddings.token_type_embeddings.weight"):
        params[name] = torch.randn(*params[name].shape, generator=g)
    frozen = {"bert.embeddings.position_embeddings.weight": torch.zeros(P, C)}
    tokens = torch.randint(0, V, (B, T + 1), generator=g)
    p = leaves(params, set())
    x = p["bert.embeddings.word_embeddings.weight"][tokens[:, :T]] + p["bert.embeddings.token_type_embeddings.weight"][0]
    h = layer_norm(x, p, "bert.embeddings.LayerNorm")
    mask = torch.ones(B, T, dtype=torch.int64)
    for layer in range(LAYERS):
        h = bert_layer(p, f"bert.encoder.layer.{layer}", h, mask, HEADS)
    logits = lin(p, "head", h).reshape(B * T, P)
    loss = F.cross_entropy(logits, torch.arange(T).repeat(B))
    tensors = {"tokens": tokens}
    for k, v in {**params, **frozen}.items():
        tensors[f"param.{k}"] = f32(v)
    add_case(tensors, "text_position", loss, gradients(loss, p, set()))
    save("text_position_prediction.safetensors", tensors,
         meta_of(vocab_size=V, hidden_size=C, heads=HEADS, intermediate_size=INTER, layers=LAYERS, max_positions=P, context=T))
    print(f"  text position prediction: cross-entropy {loss.item():.6f} over {B * T} tokens")


if __name__ == "__main__":
    make_text_position()
