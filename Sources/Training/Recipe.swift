import Foundation
import Optimizers
import Tensors
import Yams

/// A training run, as written in a YAML recipe (see recipes/shakespeare-gpt.yaml for every key, commented).
///
/// Every key has a default, so a recipe names only what differs. A key the recipe types do not know is an
/// error naming it and its path (a typo must not silently fall back to a default). `--set path=value` edits
/// the YAML tree before decoding, so an override is checked exactly like the file.
public struct Recipe: Codable, Equatable {
    public var model = ModelSection()
    public var objective = ObjectiveSection()
    public var data = DataSection()
    public var optim = OptimSection()
    public var schedule = ScheduleSection()
    public var train = TrainSection()
    /// Number format of matrix products: fp32, bf16 (mixed precision: bf16 operands, fp32 weights, optimiser state
    /// and reductions; falls back to fp32 on CPUs without bf16 instructions) or bf16-emulated (bf16 rounding in
    /// software, any CPU).
    public var precision = "fp32"

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case model, objective, data, optim, schedule, train, precision }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Recipe()
        model = try container.decodeIfPresent(ModelSection.self, forKey: .model) ?? defaults.model
        objective = try container.decodeIfPresent(ObjectiveSection.self, forKey: .objective) ?? defaults.objective
        data = try container.decodeIfPresent(DataSection.self, forKey: .data) ?? defaults.data
        optim = try container.decodeIfPresent(OptimSection.self, forKey: .optim) ?? defaults.optim
        schedule = try container.decodeIfPresent(ScheduleSection.self, forKey: .schedule) ?? defaults.schedule
        train = try container.decodeIfPresent(TrainSection.self, forKey: .train) ?? defaults.train
        precision = try container.decodeIfPresent(String.self, forKey: .precision) ?? defaults.precision
    }
}

/// `model:` — the architecture. Also written to each checkpoint's config.json (with `vocab_size` resolved).
public struct ModelSection: Codable, Equatable {
    public enum Flavor: String, Codable, CaseIterable {
        /// Decoder: learned positions, LayerNorm, GELU, tied embeddings.
        case gpt2
        /// Decoder: rotary positions, RMSNorm, SwiGLU, no biases.
        case llama
        /// Encoder with a masked-LM head (BertForMaskedLM).
        case bert
        /// Audio encoder over (stacked) feature frames, TERA/HuBERT style (objective tera).
        case audioFrames = "audio_frames"
        /// Audio encoder over 2-D spectrogram patches, SSAST/BEATs style (objective ssast).
        case audioPatches = "audio_patches"
        /// wav2vec 2.0: convolutional feature encoder over the raw waveform, then a Transformer (objective wav2vec2).
        case audioWaveform = "audio_waveform"

        public var isAudio: Bool { self == .audioFrames || self == .audioPatches || self == .audioWaveform }
    }

    public var flavor = Flavor.gpt2
    public var layers = 4
    public var dModel = 192
    public var heads = 4
    /// Tokens per training window (T) and the size of the position table.
    public var context = 256
    /// nil: the corpus' vocabulary size (corpus.json).
    public var vocabSize: Int?
    public var dropout: Float = 0
    /// Feed-forward width; nil: the flavour's default (4·d_model for gpt2 and bert, ≈ 8/3·d_model for llama).
    public var mlpHidden: Int?
    /// Output layer shares the token embedding; nil: the flavour's default (gpt2 and bert tied, llama untied).
    public var tieEmbeddings: Bool?
    /// Epsilon of every norm; nil: the flavour's default (1e-5 for gpt2 and llama, 1e-12 for bert).
    public var normEps: Float?
    /// Rotary base (llama).
    public var ropeBase: Float = 10_000
    /// Audio: bins per feature frame; nil: the feature corpus' (it must match when set).
    public var featureDim: Int?
    /// audio_frames: frames concatenated per position (TERA's downsampling); nil: 1.
    public var frameStack: Int?
    /// audio_frames: learned | convolutional positions; nil: learned.
    public var positions: String?
    /// Convolutional positions: kernel and groups; nil: 32 and 16 (wav2vec 2.0's 128 and 16, scaled down).
    public var convPositionKernel: Int?
    public var convPositionGroups: Int?
    /// audio_patches: patch height in bins and width in frames; nil: 16 and 16 (SSAST).
    public var patchFrequency: Int?
    public var patchTime: Int?
    /// audio_waveform: channels of the feature encoder's convolutions (the paper's 512); nil: 128.
    public var convDim: Int?
    /// audio_waveform: group (GroupNorm after the first convolution, wav2vec2-base) | layer (LayerNorm after each);
    /// nil: group.
    public var featureNorm: String?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case flavor, layers, dModel = "d_model", heads, context, vocabSize = "vocab_size", dropout
        case mlpHidden = "mlp_hidden", tieEmbeddings = "tie_embeddings", normEps = "norm_eps", ropeBase = "rope_base"
        case featureDim = "feature_dim", frameStack = "frame_stack", positions
        case convPositionKernel = "conv_position_kernel", convPositionGroups = "conv_position_groups"
        case patchFrequency = "patch_frequency", patchTime = "patch_time"
        case convDim = "conv_dim", featureNorm = "feature_norm"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ModelSection()
        flavor = try container.decodeIfPresent(Flavor.self, forKey: .flavor) ?? defaults.flavor
        layers = try container.decodeIfPresent(Int.self, forKey: .layers) ?? defaults.layers
        dModel = try container.decodeIfPresent(Int.self, forKey: .dModel) ?? defaults.dModel
        heads = try container.decodeIfPresent(Int.self, forKey: .heads) ?? defaults.heads
        context = try container.decodeIfPresent(Int.self, forKey: .context) ?? defaults.context
        vocabSize = try container.decodeIfPresent(Int.self, forKey: .vocabSize)
        dropout = try container.decodeIfPresent(Float.self, forKey: .dropout) ?? defaults.dropout
        mlpHidden = try container.decodeIfPresent(Int.self, forKey: .mlpHidden)
        tieEmbeddings = try container.decodeIfPresent(Bool.self, forKey: .tieEmbeddings)
        normEps = try container.decodeIfPresent(Float.self, forKey: .normEps)
        ropeBase = try container.decodeIfPresent(Float.self, forKey: .ropeBase) ?? defaults.ropeBase
        featureDim = try container.decodeIfPresent(Int.self, forKey: .featureDim)
        frameStack = try container.decodeIfPresent(Int.self, forKey: .frameStack)
        positions = try container.decodeIfPresent(String.self, forKey: .positions)
        convPositionKernel = try container.decodeIfPresent(Int.self, forKey: .convPositionKernel)
        convPositionGroups = try container.decodeIfPresent(Int.self, forKey: .convPositionGroups)
        patchFrequency = try container.decodeIfPresent(Int.self, forKey: .patchFrequency)
        patchTime = try container.decodeIfPresent(Int.self, forKey: .patchTime)
        convDim = try container.decodeIfPresent(Int.self, forKey: .convDim)
        featureNorm = try container.decodeIfPresent(String.self, forKey: .featureNorm)
    }
}

/// `objective:` — what the model predicts.
public struct ObjectiveSection: Codable, Equatable {
    public enum Kind: String, Codable, CaseIterable {
        case causalLM = "causal_lm", maskedLM = "masked_lm"
        /// Audio: TERA reconstruction of altered frames (audio_frames), SSAST masked patch modelling (audio_patches).
        case tera, ssast
        /// Audio, either encoder: masked label prediction against a random-projection quantiser (BEST-RQ) or
        /// k-means centroids (HuBERT).
        case bestrq, hubert
        /// Audio, audio_patches: BEATs' acoustic tokenizer trained by distillation from a teacher checkpoint
        /// (beats_tokenizer), and masked patch prediction of its labels (beats).
        case beatsTokenizer = "beats_tokenizer", beats
        /// Audio, audio_waveform: wav2vec 2.0's contrastive loss against Gumbel-quantised latents.
        case wav2vec2
    }

    public var kind = Kind.causalLM
    /// Masked LM only.
    public var masking = MaskingSection()
    /// TERA only; nil: the paper's settings.
    public var tera: TERASection?
    /// SSAST only; nil: the paper's settings.
    public var ssast: SSASTSection?
    /// BEST-RQ only; nil: the defaults of BESTRQSection.
    public var bestrq: BESTRQSection?
    /// HuBERT only; required (it names the centroids).
    public var hubert: HuBERTSection?
    /// BEATs tokenizer training only; required (it names the teacher).
    public var beatsTokenizer: BEATsTokenizerSection?
    /// BEATs masked prediction only; required (it names the tokenizer).
    public var beats: BEATsSection?
    /// wav2vec 2.0 only; nil: the defaults of Wav2Vec2Section.
    public var wav2vec2: Wav2Vec2Section?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, masking, tera, ssast, bestrq, hubert, beatsTokenizer = "beats_tokenizer", beats, wav2vec2
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .causalLM
        masking = try container.decodeIfPresent(MaskingSection.self, forKey: .masking) ?? MaskingSection()
        tera = try container.decodeIfPresent(TERASection.self, forKey: .tera)
        ssast = try container.decodeIfPresent(SSASTSection.self, forKey: .ssast)
        bestrq = try container.decodeIfPresent(BESTRQSection.self, forKey: .bestrq)
        hubert = try container.decodeIfPresent(HuBERTSection.self, forKey: .hubert)
        beatsTokenizer = try container.decodeIfPresent(BEATsTokenizerSection.self, forKey: .beatsTokenizer)
        beats = try container.decodeIfPresent(BEATsSection.self, forKey: .beats)
        wav2vec2 = try container.decodeIfPresent(Wav2Vec2Section.self, forKey: .wav2vec2)
    }
}

/// `objective.masking:` — BERT's masking policy (Devlin et al., 2019, §3.1): `rate` of the tokens are chosen;
/// of those, `mask_fraction` become [MASK], `random_fraction` a random token, the rest stay as they are.
public struct MaskingSection: Codable, Equatable {
    public var rate: Float = 0.15
    public var maskFraction: Float = 0.8
    public var randomFraction: Float = 0.1
    /// Choose whole words (all pieces of a word together).
    public var wholeWord = false
    /// Mean span length for span masking (SpanBERT); nil: single tokens.
    public var spanLength: Int?
    /// Longest span (span masking).
    public var maxSpanLength = 10

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case rate, maskFraction = "mask_fraction", randomFraction = "random_fraction", wholeWord = "whole_word"
        case spanLength = "span_length", maxSpanLength = "max_span_length"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = MaskingSection()
        rate = try container.decodeIfPresent(Float.self, forKey: .rate) ?? defaults.rate
        maskFraction = try container.decodeIfPresent(Float.self, forKey: .maskFraction) ?? defaults.maskFraction
        randomFraction = try container.decodeIfPresent(Float.self, forKey: .randomFraction) ?? defaults.randomFraction
        wholeWord = try container.decodeIfPresent(Bool.self, forKey: .wholeWord) ?? defaults.wholeWord
        spanLength = try container.decodeIfPresent(Int.self, forKey: .spanLength)
        maxSpanLength = try container.decodeIfPresent(Int.self, forKey: .maxSpanLength) ?? defaults.maxSpanLength
    }
}

/// `data:` — where the tokens come from.
public struct DataSection: Codable, Equatable {
    public enum Sampling: String, Codable, CaseIterable {
        /// Windows at offsets drawn uniformly from all train tokens (seeded).
        case random
        /// Consecutive windows in shard order, wrapping around at the end (epochs).
        case sequential
    }

    /// A prepared corpus directory (`pretrain tokenize --out`): train and val shards, corpus.json. It gives the
    /// tokenizer, the vocabulary and the main validation split (`val_loss`); with `mixture` its train split is used
    /// only if a source names it. Default with a mixture: the first source's corpus (by name).
    public var corpus = "data/shakespeare"
    /// More validation sets by name: prepared corpus directories whose val shards are evaluated too.
    public var val: [String: String] = [:]
    public var sampling = Sampling.random
    /// Train on several sources by weight (see MixtureSourceSection); empty: on `corpus` alone.
    public var mixture: [String: MixtureSourceSection] = [:]
    /// Replay of an upstream corpus at a fixed fraction of the windows.
    public var replay: ReplaySection?
    /// Curriculum: mixture weights by step range, in order.
    public var phases: [PhaseSection] = []
    /// Audio: a prepared feature corpus (`pretrain features prepare IN --out DIR`); audio models train on its crops
    /// of model.context frames, normalised with its statistics.
    public var features: String?
    /// Audio, audio_waveform: 16 kHz speech (any rate is resampled) — a directory searched recursively, split by its
    /// manifest.jsonl when it has one (train → train; val, valid, validation, dev → val; the rest held out), else
    /// 5 % to val by a seeded hash of the path, as `pretrain features prepare` splits; crops of model.context samples.
    public var waveforms: String?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case corpus, val, sampling, mixture, replay, phases, features, waveforms }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = DataSection()
        val = try container.decodeIfPresent([String: String].self, forKey: .val) ?? defaults.val
        sampling = try container.decodeIfPresent(Sampling.self, forKey: .sampling) ?? defaults.sampling
        mixture = try container.decodeIfPresent([String: MixtureSourceSection].self, forKey: .mixture) ?? [:]
        replay = try container.decodeIfPresent(ReplaySection.self, forKey: .replay)
        phases = try container.decodeIfPresent([PhaseSection].self, forKey: .phases) ?? []
        features = try container.decodeIfPresent(String.self, forKey: .features)
        waveforms = try container.decodeIfPresent(String.self, forKey: .waveforms)
        corpus = try container.decodeIfPresent(String.self, forKey: .corpus)
            ?? mixture.sorted(by: { $0.key < $1.key }).first?.value.corpus ?? defaults.corpus
    }
}

/// `optim:` — AdamW and the batch.
public struct OptimSection: Codable, Equatable {
    /// Peak learning rate (the schedule's maximum).
    public var lr: Float = 1e-3
    public var betas: [Float] = [0.9, 0.95]
    public var eps: Float = 1e-8
    /// Decoupled weight decay of matrices and embeddings (rank ≥ 2); biases and norm gains never decay.
    public var weightDecay: Float = 0.1
    /// Maximum global gradient norm; 0 turns clipping off.
    public var clip: Float = 1
    /// Windows per micro-batch (B).
    public var batchSize = 16
    /// Micro-batches per update: an update sees batch_size · grad_accum windows.
    public var gradAccum = 1

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case lr, betas, eps, weightDecay = "weight_decay", clip, batchSize = "batch_size", gradAccum = "grad_accum"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = OptimSection()
        lr = try container.decodeIfPresent(Float.self, forKey: .lr) ?? defaults.lr
        betas = try container.decodeIfPresent([Float].self, forKey: .betas) ?? defaults.betas
        eps = try container.decodeIfPresent(Float.self, forKey: .eps) ?? defaults.eps
        weightDecay = try container.decodeIfPresent(Float.self, forKey: .weightDecay) ?? defaults.weightDecay
        clip = try container.decodeIfPresent(Float.self, forKey: .clip) ?? defaults.clip
        batchSize = try container.decodeIfPresent(Int.self, forKey: .batchSize) ?? defaults.batchSize
        gradAccum = try container.decodeIfPresent(Int.self, forKey: .gradAccum) ?? defaults.gradAccum
    }
}

/// `schedule:` — the learning rate against the step; the peak is `optim.lr`. Which keys apply depends on `kind`:
/// constant (warmup), cosine (warmup, min_lr, total), wsd (warmup, min_lr, stable, decay), infinite (warmup,
/// min_lr, constant_lr, cooldown, anneal_start, anneal_steps, anneal_shape), repeated_cosine (warmup, min_lr,
/// cycle). With `--init-from`, `warmup` and `optim.lr` are the rewarming: up to that peak over that many steps.
public struct ScheduleSection: Codable, Equatable {
    public enum Kind: String, Codable, CaseIterable { case constant, cosine, wsd, infinite, repeatedCosine = "repeated_cosine" }

    public var kind = Kind.cosine
    public var warmup = 0
    public var minLR: Float?
    /// cosine: the step at which the decay reaches min_lr; nil: train.steps.
    public var total: Int?
    /// wsd: steps at the peak after the warmup; nil: whatever train.steps leaves after warmup and decay.
    public var stable: Int?
    /// wsd: steps of the final linear decay; nil: 20 % of train.steps.
    public var decay: Int?
    /// infinite: the plateau after the cooldown; nil: optim.lr / 4.
    public var constantLR: Float?
    /// infinite: steps of the cosine from optim.lr down to constant_lr.
    public var cooldown: Int?
    /// infinite: the step at which the anneal to min_lr begins; nil: no anneal (yet).
    public var annealStart: Int?
    public var annealSteps: Int?
    public var annealShape: LearningRateSchedule.AnnealShape?
    /// repeated_cosine: steps per cycle (each cycle rewarms over `warmup` steps, then decays to min_lr).
    public var cycle: Int?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, warmup, minLR = "min_lr", total, stable, decay, constantLR = "constant_lr", cooldown
        case annealStart = "anneal_start", annealSteps = "anneal_steps", annealShape = "anneal_shape", cycle
    }

    /// The keys each kind reads (besides kind and warmup); any other key that is set is an error.
    static let keysOfKind: [Kind: Set<CodingKeys>] = [
        .constant: [],
        .cosine: [.minLR, .total],
        .wsd: [.minLR, .stable, .decay],
        .infinite: [.minLR, .constantLR, .cooldown, .annealStart, .annealSteps, .annealShape],
        .repeatedCosine: [.minLR, .cycle],
    ]

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .cosine
        warmup = try container.decodeIfPresent(Int.self, forKey: .warmup) ?? 0
        minLR = try container.decodeIfPresent(Float.self, forKey: .minLR)
        total = try container.decodeIfPresent(Int.self, forKey: .total)
        stable = try container.decodeIfPresent(Int.self, forKey: .stable)
        decay = try container.decodeIfPresent(Int.self, forKey: .decay)
        constantLR = try container.decodeIfPresent(Float.self, forKey: .constantLR)
        cooldown = try container.decodeIfPresent(Int.self, forKey: .cooldown)
        annealStart = try container.decodeIfPresent(Int.self, forKey: .annealStart)
        annealSteps = try container.decodeIfPresent(Int.self, forKey: .annealSteps)
        annealShape = try container.decodeIfPresent(LearningRateSchedule.AnnealShape.self, forKey: .annealShape)
        cycle = try container.decodeIfPresent(Int.self, forKey: .cycle)
        let allowed = Self.keysOfKind[kind]!.union([.kind, .warmup])
        for key in container.allKeys where !allowed.contains(key) && (try? container.decodeNil(forKey: key)) == false {
            throw RecipeError("schedule.\(key.rawValue) does not apply to schedule kind '\(kind.rawValue)' "
                + "(it reads: \(Self.keysOfKind[kind]!.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
    }

    /// The schedule for a run of `steps` updates peaking at `peakLR`.
    public func resolved(peakLR: Float, steps: Int) throws -> LearningRateSchedule {
        guard warmup >= 0 else { throw RecipeError("schedule.warmup must be ≥ 0, got \(warmup)") }
        let floor = minLR ?? 0
        switch kind {
        case .constant:
            return .constant(lr: peakLR, warmup: warmup)
        case .cosine:
            return .cosine(maxLR: peakLR, minLR: floor, warmup: warmup, total: total ?? steps)
        case .wsd:
            let decaySteps = decay ?? steps / 5
            let stableSteps = stable ?? max(0, steps - warmup - decaySteps)
            return .wsd(maxLR: peakLR, minLR: floor, warmup: warmup, stable: stableSteps, decay: decaySteps)
        case .infinite:
            return .infinite(maxLR: peakLR, constantLR: constantLR ?? peakLR / 4, minLR: floor, warmup: warmup,
                             cooldown: cooldown ?? 0, annealStart: annealStart, annealSteps: annealSteps ?? 0,
                             annealShape: annealShape ?? .linear)
        case .repeatedCosine:
            guard let cycle else { throw RecipeError("schedule.cycle (steps per cosine cycle) is required for repeated_cosine") }
            guard cycle > warmup else {
                throw RecipeError("schedule.cycle (\(cycle)) must be longer than schedule.warmup (\(warmup))")
            }
            return .repeatedCosine(maxLR: peakLR, minLR: floor, warmup: warmup, cycle: cycle)
        }
    }
}

/// `train:` — how long, how often to log, evaluate and checkpoint.
public struct TrainSection: Codable, Equatable {
    /// Updates to take (the run ends at this step).
    public var steps = 1000
    /// Evaluate every this many steps (and at the end); 0: only at the end.
    public var evalEvery = 100
    /// Micro-batches of validation windows per periodic evaluation; 0: the whole validation set. The final
    /// evaluation always reads the whole set.
    public var evalBatches = 20
    /// A metrics row (and console line) every this many steps.
    public var logEvery = 10
    /// Checkpoint every this many steps (and at the end); 0: only at the end.
    public var checkpointEvery = 500
    /// Complete checkpoints kept; older ones are deleted.
    public var keepLast = 3
    public var seed: UInt64 = 1337
    /// Compute threads; nil: every core this process may use.
    public var threads: Int?
    /// Training stops after this many consecutive updates skipped for a non-finite loss or gradient.
    public var maxConsecutiveSkips = 10

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps, evalEvery = "eval_every", evalBatches = "eval_batches", logEvery = "log_every"
        case checkpointEvery = "checkpoint_every", keepLast = "keep_last", seed, threads
        case maxConsecutiveSkips = "max_consecutive_skips"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TrainSection()
        steps = try container.decodeIfPresent(Int.self, forKey: .steps) ?? defaults.steps
        evalEvery = try container.decodeIfPresent(Int.self, forKey: .evalEvery) ?? defaults.evalEvery
        evalBatches = try container.decodeIfPresent(Int.self, forKey: .evalBatches) ?? defaults.evalBatches
        logEvery = try container.decodeIfPresent(Int.self, forKey: .logEvery) ?? defaults.logEvery
        checkpointEvery = try container.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? defaults.checkpointEvery
        keepLast = try container.decodeIfPresent(Int.self, forKey: .keepLast) ?? defaults.keepLast
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        threads = try container.decodeIfPresent(Int.self, forKey: .threads)
        maxConsecutiveSkips = try container.decodeIfPresent(Int.self, forKey: .maxConsecutiveSkips) ?? defaults.maxConsecutiveSkips
    }
}

// MARK: - Loading, overrides, validation

public struct RecipeError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Recipe {
    /// Parses a recipe, applying `overrides` ("optim.lr=3e-4", "train.steps=200") to the YAML tree first.
    /// `source` names the text in error messages.
    public static func parse(_ yaml: String, overrides: [String] = [], source: String = "recipe") throws -> Recipe {
        var root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(.init([]))
        } catch {
            throw RecipeError("\(source): not valid YAML: \(error)")
        }
        if case .scalar(let scalar) = root, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
            root = Node.mapping(.init([]))   // an empty file: all defaults
        }
        guard root.mapping != nil else { throw RecipeError("\(source): the recipe must be a mapping of sections (model:, optim:, ...)") }
        root = try applying(overrides, to: root)
        let text: String
        do { text = try Yams.serialize(node: root) } catch { throw RecipeError("\(source): \(error)") }
        let recipe: Recipe
        do {
            recipe = try YAMLDecoder().decode(Recipe.self, from: text)
        } catch let error as RecipeError {
            throw RecipeError("\(source): \(error.message)")
        } catch let error as DecodingError {
            throw RecipeError("\(source): \(describe(error))")
        } catch {
            throw RecipeError("\(source): \(error)")
        }
        try recipe.validate(source: source)
        return recipe
    }

    /// Reads and parses a recipe file.
    public static func load(_ url: URL, overrides: [String] = []) throws -> Recipe {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw RecipeError("\(url.path): cannot read the recipe: \(error.localizedDescription)")
        }
        return try parse(text, overrides: overrides, source: url.path)
    }

    /// The resolved recipe as YAML (every key, defaults filled in): what RUN/recipe.yaml holds.
    public func yaml() throws -> String {
        try YAMLEncoder().encode(self)
    }

    /// Checks values that decode but cannot run.
    public func validate(source: String = "recipe") throws {
        var problems: [String] = []
        func require(_ condition: Bool, _ message: @autoclosure () -> String) { if !condition { problems.append(message()) } }
        require(model.layers >= 1, "model.layers must be ≥ 1, got \(model.layers)")
        require(model.dModel >= 1 && model.heads >= 1 && model.dModel % model.heads == 0,
                "model.d_model (\(model.dModel)) must be a positive multiple of model.heads (\(model.heads))")
        require(model.context >= 1, "model.context must be ≥ 1, got \(model.context)")
        require(model.vocabSize.map { $0 >= 2 } ?? true, "model.vocab_size must be ≥ 2")
        require(model.dropout >= 0 && model.dropout < 1, "model.dropout must be in [0, 1), got \(model.dropout)")
        require(objective.kind.fits(model.flavor),
                "objective.kind \(objective.kind.rawValue) does not fit model.flavor \(model.flavor.rawValue) "
                + "(causal_lm needs gpt2 or llama, masked_lm needs bert, tera needs audio_frames, ssast needs audio_patches, "
                + "bestrq and hubert need audio_frames or audio_patches, wav2vec2 needs audio_waveform or audio_frames)")
        problems += audioProblems()
        require(optim.lr > 0, "optim.lr must be > 0, got \(optim.lr)")
        require(optim.betas.count == 2 && optim.betas.allSatisfy { $0 >= 0 && $0 < 1 },
                "optim.betas must be two numbers in [0, 1), got \(optim.betas)")
        require(optim.eps > 0, "optim.eps must be > 0")
        require(optim.weightDecay >= 0, "optim.weight_decay must be ≥ 0")
        require(optim.clip >= 0, "optim.clip must be ≥ 0 (0: no clipping)")
        require(optim.batchSize >= 1, "optim.batch_size must be ≥ 1, got \(optim.batchSize)")
        require(optim.gradAccum >= 1, "optim.grad_accum must be ≥ 1, got \(optim.gradAccum)")
        require(train.steps >= 1, "train.steps must be ≥ 1, got \(train.steps)")
        require(train.evalEvery >= 0 && train.evalBatches >= 0 && train.checkpointEvery >= 0,
                "train.eval_every, eval_batches and checkpoint_every must be ≥ 0")
        require(train.logEvery >= 1, "train.log_every must be ≥ 1")
        require(train.keepLast >= 1, "train.keep_last must be ≥ 1")
        require(train.threads.map { $0 >= 1 } ?? true, "train.threads must be ≥ 1")
        require(train.maxConsecutiveSkips >= 1, "train.max_consecutive_skips must be ≥ 1")
        require(MatmulPrecision(rawValue: precision) != nil,
                "precision must be one of \(MatmulPrecision.allCases.map(\.rawValue).joined(separator: ", ")), got '\(precision)'")
        problems += data.mixtureProblems()
        if problems.isEmpty { _ = try schedule.resolved(peakLR: optim.lr, steps: train.steps) }
        guard problems.isEmpty else { throw RecipeError("\(source): " + problems.joined(separator: "; ")) }
    }

    /// The learning-rate schedule this recipe describes.
    public func learningRateSchedule() throws -> LearningRateSchedule {
        try schedule.resolved(peakLR: optim.lr, steps: train.steps)
    }
}
