import Foundation
import Training

/// Recipes: YAML text and `--set` overrides through `Recipe.parse`, then what a run computes from an accepted
/// recipe before it touches data (the resolved recipe.yaml, which must parse again; the schedule; the mixture plan).
enum RecipeFuzzing {
    static let seeds = [
        """
        model:
          flavor: gpt2
          layers: 1
          d_model: 32
          heads: 2
          context: 16
        objective:
          kind: causal_lm
        data:
          corpus: data/tiny
        optim:
          lr: 2.0e-3
          betas: [0.9, 0.95]
          batch_size: 4
        schedule:
          kind: cosine
          warmup: 5
          min_lr: 2.0e-4
        train:
          steps: 60
          eval_every: 20
          checkpoint_every: 10
          keep_last: 2
          seed: 1337
        precision: fp32

        """,
        """
        model: {flavor: bert, layers: 2, d_model: 64, heads: 4, context: 32}
        objective:
          kind: masked_lm
          masking: {rate: 0.15, whole_word: true, span_length: 3, max_span_length: 10}
        data: {corpus: data/tiny, sampling: sequential}
        schedule: {kind: wsd, warmup: 10, decay: 20}
        train: {steps: 100}

        """,
        """
        model:
          flavor: llama
          layers: 2
          d_model: 64
          heads: 4
          context: 64
        data:
          corpus: data/new
          mixture: {a: {corpus: A, weight: 1}, b: {corpus: B, weight: 2, subset_tokens: 1000}}
          replay: {corpus: OLD, fraction: 0.2, name: old}
          phases:
            - {until: 10, weights: {a: 1}}
            - {until: 20, weights: {a: 1, b: 3}}
          val: {wiki: data/wiki}
        schedule:
          kind: infinite
          warmup: 5
          cooldown: 10
          constant_lr: 2.5e-4
          min_lr: 2.0e-5
        train: {steps: 40, eval_every: 10}

        """,
        """
        model:
          flavor: audio_frames
          layers: 2
          d_model: 64
          heads: 4
          mlp_hidden: 128
          context: 64
          frame_stack: 2
          positions: learned
        objective:
          kind: tera
          tera: {time_mask_rate: 0.15, span_length: 7, noise_probability: 0.15, noise_std: 0.2}
        data:
          features: data/speech-fbank
        optim: {lr: 1.0e-3, betas: [0.9, 0.98], batch_size: 8}
        schedule: {kind: repeated_cosine, warmup: 10, cycle: 25}
        train: {steps: 50}

        """,
    ]

    /// Paths a user sets, and some that no recipe has.
    static let overridePaths = ["model.layers", "model.d_model", "model.heads", "model.context", "model.flavor",
                                "model.dropout", "optim.lr", "optim.batch_size", "optim.grad_accum", "optim.betas",
                                "optim.clip", "schedule.kind", "schedule.warmup", "schedule.min_lr", "train.steps",
                                "train.seed", "train.threads", "train.keep_last", "data.corpus", "data.sampling",
                                "data.replay.fraction", "data.mixture.a.weight", "data.mixture.a.subset_tokens",
                                "data.val.extra", "objective.kind", "objective.masking.rate", "precision", "model",
                                "model.layers.x", "a.b.c.d.e", "data.phases", "data.mixture", "x"]
    static let overrideValues = TextMutations.extremeNumbers + ["", "~", "null", "true", "[1, 2]", "{a: 1}", "- 1",
                                                               "&a 1", "*a", "cosine", "gpt2", "bf16", "'", "\"", "a=b",
                                                               "[[[[[[[[[[1]]]]]]]]]]", String(repeating: "9", count: 400)]

    static func overrides(_ random: inout FuzzRandom) -> [String] {
        (0..<random.geometricCount(max: 4)).map { _ in
            let value = random.pick(overrideValues)
            switch random.int(0..<10) {
            case 0: return "\(random.pick(overridePaths))\(value)"          // no '='
            case 1: return "=\(value)"
            case 2: return "\(random.pick(overridePaths))..x=\(value)"
            default: return "\(random.pick(overridePaths))=\(value)"
            }
        }
    }

    static func text(_ random: inout FuzzRandom) -> [UInt8] { Array(random.pick(seeds).utf8) }

    static func family(_ name: String, knownIssue: String? = nil,
                       _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name, knownIssue: knownIssue) { random in
            var bytes = text(&random)
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput("recipe.yaml", bytes)
        }
    }

    static let target = FuzzTarget(
        name: "recipe", parses: "YAML recipes and --set overrides (Recipe.parse)",
        seeds: seeds.map { FuzzInput("recipe.yaml", Array($0.utf8)) },
        families: [
            family("bytes") { ByteMutations.havoc(&$0, &$1) },
            family("invalid-utf8") { ByteMutations.insertInvalidUTF8(&$0, &$1) },
            family("numbers") { TextMutations.replaceYAMLValue(&$0, with: TextMutations.extremeNumbers, &$1) },
            family("lines") { bytes, random in
                random.pick([TextMutations.swapLines, TextMutations.deleteLines])(&bytes, &random)
            },
            family("splice") { bytes, random in ByteMutations.splice(&bytes, with: text(&random), &random) },
            MutationFamily("overrides") { random in FuzzInput("recipe.yaml", text(&random), arguments: overrides(&random)) },
            // Issue 18, recipe hardening (another branch): non-finite numbers in recipes.
            family("non-finite") {
                TextMutations.replaceYAMLValue(&$0, with: TextMutations.nonFiniteYAML, &$1)
            },
            // Issue 18, recipe hardening: duplicate keys.
            family("duplicate-keys") { TextMutations.duplicateLines(&$0, &$1) },
            // Issue 18, recipe hardening: depth limits.
            family("deep-nesting") { TextMutations.nestYAML(&$0, &$1) },
            // Issue 18, recipe hardening: alias and size limits.
            family("aliases") { TextMutations.aliases(&$0, &$1) },
        ],
        parse: { input, _ in
            let recipe = try Recipe.parse(input.text("recipe.yaml"), overrides: input.arguments, source: "recipe.yaml")
            let resolved = try recipe.yaml()
            // A number that is not finite is a value no run can use (issue 18 item: recipes refuse them).
            if let line = resolved.split(separator: "\n").first(where: {
                $0.range(of: #":\s+[-+]?\.(nan|inf)\s*$"#, options: [.regularExpression, .caseInsensitive]) != nil
            }) {
                throw FuzzFinding("a recipe with a non-finite number was accepted (resolved: \(line.trimmingCharacters(in: .whitespaces)))")
            }
            _ = try Recipe.parse(resolved, source: "resolved recipe.yaml")
            let schedule = try recipe.learningRateSchedule()
            for step in [0, 1, recipe.train.steps / 2, recipe.train.steps - 1, recipe.train.steps] {
                _ = schedule.learningRate(at: step)
            }
            if let plan = MixturePlan(recipe.data) { _ = plan.sources.count }
        })
}
