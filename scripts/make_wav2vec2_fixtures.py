#!/usr/bin/env python3
"""PyTorch references for wav2vec 2.0 (Baevski et al. 2020): GroupNorm, the feature encoder, the whole encoder,
the Gumbel quantiser, the contrastive and diversity losses. float32, computed with torch (CPU).

Writes
- Tests/TensorsTests/Fixtures/ops/group_norm_{channels,grouped}.safetensors (OpFixture layout: in.x, in.weight,
  in.bias, out, grad_out, grad.*; metadata groups, eps): torch.nn.functional.group_norm.
- Tests/LayersTests/Fixtures/wav2vec2_feature_encoder_{group,layer}.safetensors: Hugging Face's
  Wav2Vec2FeatureEncoder (transformers) with 8 channels. Keys: param.<our name> (the weights), input (B, L),
  grad_out (B, C, T), out, grad.input, grad.param.<name> (d sum(out·grad_out) / d ·).
- Tests/LayersTests/Fixtures/wav2vec2_model.safetensors: Hugging Face's Wav2Vec2Model (post-LN, group norm,
  no dropout) with given mask_time_indices; weights renamed to our keys (Transformer layers under BERT names,
  the weight-normalised positional convolution folded into one weight). Keys: param.*, input, mask (B, T) 0/1,
  hidden.N (every hidden state), grad_out, grad.input.
- Tests/TrainingTests/Fixtures/wav2vec2_objective.safetensors: the quantiser with given Gumbel noise (q.*), the
  contrastive loss with given distractors and codes (c.*), the diversity loss (q.diversity).
Needs torch, transformers and safetensors.
"""
import os
import sys
import types

import torch
import torch.nn.functional as F
from safetensors.torch import save_file


from torchaudio_import import stub_torchaudio_extension  # noqa: E402


stub_torchaudio_extension()
from transformers import Wav2Vec2Config, Wav2Vec2Model  # noqa: E402
from transformers.models.wav2vec2.modeling_wav2vec2 import Wav2Vec2FeatureEncoder  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests")
OPS = os.path.join(ROOT, "TensorsTests", "Fixtures", "ops")
LAYERS = os.path.join(ROOT, "LayersTests", "Fixtures")
TRAINING = os.path.join(ROOT, "TrainingTests", "Fixtures")


def c(t):
    return t.detach().float().contiguous().clone()


def group_norm_cases():
    for name, (b, ch, length, groups) in {"group_norm_channels": (2, 6, 17, 6), "group_norm_grouped": (3, 8, 5, 4)}.items():
        g = torch.Generator().manual_seed(11)
        x = (torch.randn(b, ch, length, generator=g) * 2 + 0.5).requires_grad_(True)
        w = (torch.randn(ch, generator=g) * 0.5 + 1).requires_grad_(True)
        bias = torch.randn(ch, generator=g).requires_grad_(True)
        out = F.group_norm(x, groups, w, bias, eps=1e-5)
        grad_out = torch.randn(out.shape, generator=g)
        out.backward(grad_out)
        save_file({"in.x": c(x), "in.weight": c(w), "in.bias": c(bias), "out": c(out), "grad_out": c(grad_out),
                   "grad.x": c(x.grad), "grad.weight": c(w.grad), "grad.bias": c(bias.grad)},
                  os.path.join(OPS, f"{name}.safetensors"), metadata={"groups": str(groups), "eps": "1e-05"})


def tiny_config(norm):
    return Wav2Vec2Config(conv_dim=(8,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
                          conv_bias=False, feat_extract_norm=norm, feat_extract_activation="gelu", hidden_size=16,
                          num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, hidden_act="gelu",
                          num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4, layer_norm_eps=1e-5,
                          do_stable_layer_norm=False, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                          feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.05,
                          apply_spec_augment=True)


def feature_encoder_cases():
    for norm in ["group", "layer"]:
        torch.manual_seed(21)
        encoder = Wav2Vec2FeatureEncoder(tiny_config(norm))
        for p in encoder.parameters():   # away from the initialisation's ones and zeros
            p.data += 0.1 * torch.randn_like(p)
        encoder._requires_grad = False   # HF flags its own input as needing a gradient; ours already does
        x = torch.randn(2, 2000).requires_grad_(True)
        out = encoder(x)                     # (B, C, T)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        tensors = {"input": c(x), "out": c(out), "grad_out": c(grad_out), "grad.input": c(x.grad)}
        for name, p in encoder.named_parameters():
            tensors[f"param.{name}"] = c(p)
            tensors[f"grad.param.{name}"] = c(p.grad)
        save_file(tensors, os.path.join(LAYERS, f"wav2vec2_feature_encoder_{norm}.safetensors"), metadata={"norm": norm})


LAYER_RENAMES = {
    "attention.q_proj": "attention.self.query", "attention.k_proj": "attention.self.key",
    "attention.v_proj": "attention.self.value", "attention.out_proj": "attention.output.dense",
    "layer_norm": "attention.output.LayerNorm", "feed_forward.intermediate_dense": "intermediate.dense",
    "feed_forward.output_dense": "output.dense", "final_layer_norm": "output.LayerNorm",
}


def our_name(name):
    if name.startswith("encoder.layers."):
        parts = name.split(".")
        head, rest = ".".join(parts[:3]), ".".join(parts[3:])
        for theirs, ours in LAYER_RENAMES.items():
            if rest.startswith(theirs + "."):
                return f"{head}.{ours}{rest[len(theirs):]}"
        raise KeyError(name)
    return name


def model_case():
    torch.manual_seed(31)
    model = Wav2Vec2Model(tiny_config("group")).eval()
    for p in model.parameters():
        p.data += 0.05 * torch.randn_like(p)
    x = torch.randn(2, 3200).requires_grad_(True)
    frames = 9
    mask = torch.zeros(2, frames, dtype=torch.bool)
    mask[0, 2:5] = True
    mask[1, 6:9] = True
    out = model(x, mask_time_indices=mask, output_hidden_states=True)
    grad_out = torch.randn(out.last_hidden_state.shape)
    out.last_hidden_state.backward(grad_out)
    tensors = {"input": c(x), "mask": mask.to(torch.int64), "grad_out": c(grad_out), "grad.input": c(x.grad)}
    for i, h in enumerate(out.hidden_states):
        tensors[f"hidden.{i}"] = c(h)
    for name, p in model.state_dict().items():
        if ".pos_conv_embed.conv." in name and name.endswith(("weight_g", "weight_v", "original0", "original1")):
            continue
        tensors[f"param.{our_name(name)}"] = c(p)
    tensors["param.encoder.pos_conv_embed.conv.weight"] = c(model.encoder.pos_conv_embed.conv.weight)
    save_file(tensors, os.path.join(LAYERS, "wav2vec2_model.safetensors"),
              metadata={"layers": "2", "hidden": "16", "heads": "2", "intermediate": "32", "conv_dim": "8",
                        "pos_kernel": "8", "pos_groups": "4", "frames": str(frames)})


def objective_case():
    g = torch.Generator().manual_seed(41)
    n, cin, groups, entries, dim = 7, 6, 2, 5, 8
    tau = 0.7
    x = torch.randn(n, cin, generator=g).requires_grad_(True)
    weight = torch.randn(groups * entries, cin, generator=g).requires_grad_(True)
    bias = (0.1 * torch.randn(groups * entries, generator=g)).requires_grad_(True)
    codevectors = torch.rand(1, groups * entries, dim // groups, generator=g).requires_grad_(True)
    noise = -torch.log(-torch.log(torch.rand(n, groups * entries, generator=g)))
    logits = (x @ weight.T + bias).view(n * groups, entries)
    soft = torch.softmax((logits + noise.view(n * groups, entries)) / tau, dim=-1)
    index = soft.argmax(dim=-1)
    hard = F.one_hot(index, entries).float()
    probs = (hard - soft.detach() + soft).view(n, -1)
    quantized = (probs.unsqueeze(-1) * codevectors).view(n, groups, entries, -1).sum(-2).view(n, -1)
    marginal = torch.softmax(logits.view(n, groups, entries), dim=-1).mean(0)
    perplexity = torch.exp(-torch.sum(marginal * torch.log(marginal + 1e-7), dim=-1)).sum()
    diversity = (groups * entries - perplexity) / (groups * entries)
    probe = torch.randn(n, dim, generator=g)
    objective = (quantized * probe).sum() + 0.3 * perplexity
    objective.backward()
    tensors = {"q.x": c(x), "q.weight": c(weight), "q.bias": c(bias), "q.codevectors": c(codevectors), "q.noise": c(noise),
               "q.quantized": c(quantized), "q.codes": index.view(n, groups).to(torch.int64),
               "q.perplexity": c(perplexity).reshape([]), "q.diversity": c(diversity).reshape([]), "q.probe": c(probe),
               "q.grad.x": c(x.grad), "q.grad.weight": c(weight.grad), "q.grad.bias": c(bias.grad),
               "q.grad.codevectors": c(codevectors.grad)}

    m, p, k, kappa = 9, 5, 4, 0.1
    context = torch.randn(m, p, generator=g).requires_grad_(True)
    targets = torch.randn(m, p, generator=g).requires_grad_(True)
    negatives = torch.stack([torch.tensor([j for j in torch.randint(0, m - 1, (k,), generator=g).tolist()])
                             for _ in range(m)])
    negatives = negatives + (negatives >= torch.arange(m).unsqueeze(1)).long()   # never the frame itself
    codes = torch.randint(0, 3, (m, groups), generator=g)
    codes[negatives[0, 1]] = codes[0]   # one distractor with the target's codes: removed
    candidates = torch.cat([targets.unsqueeze(1), targets[negatives]], dim=1)       # (M, K+1, P)
    sims = F.cosine_similarity(context.unsqueeze(1), candidates, dim=-1) / kappa
    same = (codes[negatives] == codes.unsqueeze(1)).all(-1)
    sims = torch.cat([sims[:, :1], sims[:, 1:].masked_fill(same, float("-inf"))], dim=1)
    loss = F.cross_entropy(sims, torch.zeros(m, dtype=torch.long))
    loss.backward()
    tensors.update({"c.context": c(context), "c.targets": c(targets), "c.negatives": negatives.to(torch.int64),
                    "c.codes": codes.to(torch.int64), "c.loss": c(loss).reshape([]), "c.grad.context": c(context.grad),
                    "c.grad.targets": c(targets.grad)})
    save_file(tensors, os.path.join(TRAINING, "wav2vec2_objective.safetensors"),
              metadata={"groups": str(groups), "entries": str(entries), "temperature": str(tau), "kappa": str(kappa),
                        "removed": str(int(same.sum()))})


if __name__ == "__main__":
    group_norm_cases()
    feature_encoder_cases()
    model_case()
    objective_case()
    print("wrote wav2vec 2.0 fixtures")
