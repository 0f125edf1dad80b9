"""PyTorch reference for MERT (Li et al. 2023) over fbank frames, for Tests/TrainingTests.

Written here from the paper, in float64 (stored as float32), with the in-batch mixtures and the mask passed in, on
the building blocks of make_audio_objective_fixtures.py:

- Batch: normalised fbank crops (B, T, F) followed by constant-Q target frames (B, T, Fc), zero after each length.
- Acoustic teacher: a residual vector quantiser of each position's 2 stacked clean frames: codebook n takes the
  nearest entry to the residual the codebooks before it left (the script asserts a margin, so no float32 rounding
  can change a code).
- In-batch noise mixture: `length` frames of crop `source` from `source_start` mixed into crop `row` at `start` in
  the power domain of the log-mel features: e = x·σ + μ, e' = log(exp(e) + g·exp(e_source)), x' = (e' − μ)/σ.
- Student: the mixed input, masked positions replaced by the mask embedding, convolutional positions, BERT layers;
  at the masked positions the acoustic head's logits (one softmax per codebook) against the codes (cross-entropy
  averaged over positions and codebooks), and the CQT head's output against the clean stacked CQT frames (mean
  squared error over every value). Loss = α·cross-entropy + β·MSE.

Writes Tests/TrainingTests/Fixtures/mert_objective.safetensors: features (B, T, F + Fc), masked, mixtures (rows of
row, source, start, source_start, length), gains, codes, param.<name>, mert.loss, mert.grad.<name>, and the
acoustic and cqt terms. Needs torch and safetensors.
"""
import torch
import torch.nn.functional as F

from make_audio_objective_fixtures import (REF, add_case, assert_margin, encoder_shapes, f32, features_batch,
                                           frame_encoder, gradients, leaves, lin, meta_of, random_params, save,
                                           stack_frames)


def make_mert():
    g = torch.Generator().manual_seed(19)
    B, T, FEAT, FC, K, LENGTHS = 3, 12, 6, 5, 2, [12, 10, 7]
    C, HEADS, INTER, LAYERS, KERNEL, GROUPS = 8, 2, 16, 1, 4, 2
    CODEBOOKS, ENTRIES = 3, 4
    ALPHA, BETA = 0.7, 1.3
    N = T // K
    shapes = encoder_shapes("encoder", C, INTER, LAYERS, K * FEAT, N, conv=(KERNEL, GROUPS), mask_embedding=True)
    shapes += [("acoustic_head.weight", (CODEBOOKS * ENTRIES, C)), ("acoustic_head.bias", (CODEBOOKS * ENTRIES,)),
               ("cqt_head.weight", (K * FC, C)), ("cqt_head.bias", (K * FC,))]
    params = random_params(shapes, g)
    codebooks = torch.randn(CODEBOOKS, ENTRIES, K * FEAT, generator=g).to(REF) * torch.tensor([1.0, 0.5, 0.25], dtype=REF)[:, None, None]
    mean = torch.randn(FEAT, generator=g).to(REF) - 5
    std = torch.rand(FEAT, generator=g).to(REF) + 0.5
    frozen = {"rvq.codebooks": codebooks, "normalization.mean": mean, "normalization.std": std}
    x = features_batch(g, B, T, FEAT + FC, LENGTHS).to(REF)
    clean, cqt = x[:, :, :FEAT], x[:, :, FEAT:]

    # Acoustic teacher: residual codes of each position's stacked clean frames.
    residual = stack_frames(clean, K).reshape(B * N, K * FEAT).clone()
    codes = torch.zeros(B * N, CODEBOOKS, dtype=torch.int64)
    for stage in range(CODEBOOKS):
        distances = ((residual[:, None, :] - codebooks[stage][None]) ** 2).sum(-1)
        assert_margin(-distances, f"RVQ stage {stage}")
        codes[:, stage] = distances.argmin(-1)
        residual = residual - codebooks[stage][codes[:, stage]]

    # In-batch mixtures: rows 0 and 2 get segments of another crop.
    mixtures = torch.tensor([[0, 1, 3, 2, 4], [2, 0, 1, 5, 3]])
    gains = torch.tensor([0.5, 0.2], dtype=REF)
    mixed = clean.clone()
    for (row, source, start, source_start, length), gain in zip(mixtures.tolist(), gains):
        own = mixed[row, start:start + length] * std + mean
        other = clean[source, source_start:source_start + length] * std + mean
        mixed[row, start:start + length] = (torch.log(torch.exp(own) + gain * torch.exp(other)) - mean) / std

    masked = torch.zeros(B, N, dtype=torch.bool)
    masked[0, [1, 2, 4]] = True
    masked[1, [0, 3]] = True
    masked[2, [2]] = True
    p = leaves(params, set())
    states, _ = frame_encoder(p, "encoder", mixed, LENGTHS, K, HEADS, LAYERS, conv=(KERNEL, GROUPS), masked=masked)
    selected = masked.reshape(-1).nonzero().squeeze(1)
    hidden = states[-1].reshape(B * N, C)[selected]
    logits = lin(p, "acoustic_head", hidden).reshape(-1, ENTRIES)
    acoustic = F.cross_entropy(logits, codes[selected].reshape(-1))
    target = stack_frames(cqt, K).reshape(B * N, K * FC)[selected]
    reconstruction = ((lin(p, "cqt_head", hidden) - target) ** 2).mean()
    loss = ALPHA * acoustic + BETA * reconstruction

    tensors = {"features": f32(x), "masked": masked.to(torch.int64), "mixtures": mixtures, "gains": f32(gains),
               "codes": codes.reshape(-1), "mixed": f32(mixed), "acoustic": f32(acoustic.reshape(1)),
               "cqt": f32(reconstruction.reshape(1))}
    for k, v in {**params, **frozen}.items():
        tensors[f"param.{k}"] = f32(v)
    add_case(tensors, "mert", loss, gradients(loss, p, set()))
    save("mert_objective.safetensors", tensors,
         meta_of(frames=T, feature_dim=FEAT, cqt_bins=FC, frame_stack=K, lengths=LENGTHS, hidden_size=C, heads=HEADS,
                 intermediate_size=INTER, layers=LAYERS, kernel=KERNEL, groups=GROUPS, acoustic_weight=ALPHA,
                 cqt_weight=BETA, predicted=int(masked.sum())))
    print(f"  MERT: acoustic {acoustic.item():.6f}, cqt {reconstruction.item():.6f} over {int(masked.sum())} masked positions")


if __name__ == "__main__":
    make_mert()
