import Layers
import Tensors
import XCTest

/// KV-cache decoding and token sampling.
final class GenerationTests: XCTestCase {
    func model(_ flavor: GPTConfig.Flavor, context: Int = 16, seed: UInt64 = 1) -> GPTModel {
        let config = GPTConfig(vocabSize: 23, contextLength: context, layers: 2, dModel: 16, heads: 2, flavor: flavor)
        var generator = RandomGenerator(seed: seed)
        let model = GPTModel(config, generator: &generator)
        // Larger weights than GPT-2's 0.02, so that attention is far from uniform and positions matter.
        for parameter in model.parameters where parameter.rank == 2 {
            Initializer.normal(parameter, std: 0.3, generator: &generator)
        }
        model.eval()
        return model
    }

    func lastRow(_ logits: Tensor) -> [Float] {
        let v = logits.size(-1), t = logits.size(1)
        return Array(logits.scalars[((t - 1) * v)..<(t * v)])
    }

    /// At every step of greedy decoding, the logits from the cache equal the last row of a full forward pass
    /// over the prefix (atol 1e-5: the same products summed in another order).
    func checkCacheMatchesRecomputation(_ flavor: GPTConfig.Flavor, file: StaticString = #filePath, line: UInt = #line) {
        let model = model(flavor)
        let cache = model.makeCache()
        var sequence = [3, 17, 5]
        var cached = lastRow(noGrad { model.forward(tokens: IntTensor(sequence, shape: [1, 3]), cache: cache) })
        for step in 0..<12 {
            let full = lastRow(noGrad { model.forward(tokens: IntTensor(sequence, shape: [1, sequence.count])) })
            let worst = zip(cached, full).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, "\(flavor) step \(step)", file: file, line: line)
            let next = TokenSampling.sample(logits: full, temperature: 0, generator: &Random.generator)
            sequence.append(next)
            cached = lastRow(noGrad { model.forward(tokens: IntTensor([next], shape: [1, 1]), cache: cache) })
        }
        XCTAssertEqual(cache.length, 15, file: file, line: line)
    }

    func testGPT2CachedLogitsEqualRecomputation() { checkCacheMatchesRecomputation(.gpt2) }
    func testLlamaCachedLogitsEqualRecomputation() { checkCacheMatchesRecomputation(.llama) }

    /// Feeding a sequence in chunks of several tokens (Tq > 1 queries against a longer cache) gives the rows
    /// of one full pass, in both flavours and for a batch of two.
    func testChunkedPrefillEqualsFullPass() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            let model = model(flavor)
            let tokens = (0..<2 * 11).map { ($0 * 7 + 3) % 23 }
            let full = noGrad { model.forward(tokens: IntTensor(tokens, shape: [2, 11])) }.scalars
            let cache = model.makeCache()
            var rows: [[Float]] = [[], []]
            for chunk in [0..<4, 4..<5, 5..<11] {
                let part = (0..<2).flatMap { b in chunk.map { tokens[b * 11 + $0] } }
                let out = noGrad { model.forward(tokens: IntTensor(part, shape: [2, chunk.count]), cache: cache) }.scalars
                for b in 0..<2 { rows[b] += out[(b * chunk.count * 23)..<((b + 1) * chunk.count * 23)] }
            }
            let worst = zip(rows[0] + rows[1], full).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, "\(flavor)")
        }
    }

    /// Past the cache's first 64 positions its buffers grow (twice); one token at a time up to 150 positions still
    /// gives the rows of one full pass, and after `reset` the cache serves a batch of another size.
    func testCacheThatGrowsPastItsFirstBuffersEqualsFullPasses() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            let model = model(flavor, context: 160)
            let tokens = (0..<150).map { ($0 * 11 + 5) % 23 }
            let full = noGrad { model.forward(tokens: IntTensor(tokens, shape: [1, 150])) }.scalars
            let cache = model.makeCache()
            var rows: [Float] = noGrad { model.forward(tokens: IntTensor(Array(tokens[0..<3]), shape: [1, 3]), cache: cache) }.scalars
            for token in tokens[3...] {
                rows += noGrad { model.forward(tokens: IntTensor([token], shape: [1, 1]), cache: cache) }.scalars
            }
            XCTAssertEqual(cache.length, 150)
            XCTAssertLessThan(zip(rows, full).map { abs($0 - $1) }.max()!, 1e-4, "\(flavor)")
            cache.reset()
            let pair = (0..<2 * 5).map { ($0 * 3 + 1) % 23 }
            let again = noGrad { model.forward(tokens: IntTensor(pair, shape: [2, 5]), cache: cache) }.scalars
            let fresh = noGrad { model.forward(tokens: IntTensor(pair, shape: [2, 5])) }.scalars
            XCTAssertLessThan(zip(again, fresh).map { abs($0 - $1) }.max()!, 1e-5, "\(flavor) after reset")
        }
    }

    func testGreedyGenerationFollowsTheArgmaxOfFullPasses() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            let model = model(flavor)
            var generator = RandomGenerator(seed: 0)
            let generated = model.generate(prompt: [1, 2], maxTokens: 8, temperature: 0, generator: &generator)
            var sequence = [1, 2]
            for _ in 0..<8 {
                let logits = lastRow(noGrad { model.forward(tokens: IntTensor(sequence, shape: [1, sequence.count])) })
                sequence.append(TokenSampling.sample(logits: logits, temperature: 0, generator: &generator))
            }
            XCTAssertEqual(generated, Array(sequence.dropFirst(2)), "\(flavor)")
        }
    }

    func testSamplingIsDeterministicForASeed() {
        let model = model(.llama)
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42), c = RandomGenerator(seed: 43)
        let first = model.generate(prompt: [4], maxTokens: 10, temperature: 1, generator: &a)
        XCTAssertEqual(first, model.generate(prompt: [4], maxTokens: 10, temperature: 1, generator: &b))
        XCTAssertNotEqual(first, model.generate(prompt: [4], maxTokens: 10, temperature: 1, generator: &c))
    }

    func testStopTokenEndsGenerationAndIsNotReturned() {
        let model = model(.gpt2)
        var generator = RandomGenerator(seed: 0)
        let greedy = model.generate(prompt: [1, 2], maxTokens: 6, temperature: 0, generator: &generator)
        let stop = greedy[3]
        let stopped = model.generate(prompt: [1, 2], maxTokens: 6, temperature: 0, generator: &generator, stopToken: stop)
        XCTAssertEqual(stopped, Array(greedy.prefix(while: { $0 != stop })))
    }

    /// Past the context the window slides (the cache is rebuilt from the last half window): generation goes
    /// on, and the first token after the rebuild is what a full pass over those last context/2 tokens predicts.
    func testGenerationSlidesPastTheContext() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            let model = model(flavor, context: 8)
            var generator = RandomGenerator(seed: 0)
            let prompt = [5, 6, 7]
            let generated = model.generate(prompt: prompt, maxTokens: 12, temperature: 0, generator: &generator)
            XCTAssertEqual(generated.count, 12)
            // The prompt and generated[0..<5] fill the context (3 + 5 = 8) and predict generated[5]; generated[6]
            // is predicted from the last 4 tokens, generated[2...5].
            let window = Array(generated[2...5])
            let logits = lastRow(noGrad { model.forward(tokens: IntTensor(window, shape: [1, 4])) })
            XCTAssertEqual(generated[6], TokenSampling.sample(logits: logits, temperature: 0, generator: &generator), "\(flavor)")
        }
    }

    func testPromptLongerThanTheContextKeepsItsEnd() {
        let model = model(.gpt2, context: 8)
        var generator = RandomGenerator(seed: 0)
        let long = Array(0..<20)
        let a = model.generate(prompt: long, maxTokens: 1, temperature: 0, generator: &generator)
        let b = model.generate(prompt: Array(long.suffix(8)), maxTokens: 1, temperature: 0, generator: &generator)
        XCTAssertEqual(a, b)
    }

    /// Banned ids (conditional training's other control tokens) are never drawn: greedy decoding takes the next
    /// best token instead of the banned argmax, and sampling at temperature 1 never yields one.
    func testBannedTokensAreNeverGenerated() {
        let model = model(.gpt2)
        var generator = RandomGenerator(seed: 5)
        let greedy = model.generate(prompt: [3], maxTokens: 1, temperature: 0, generator: &generator)
        let avoided = model.generate(prompt: [3], maxTokens: 1, temperature: 0, generator: &generator, banned: [greedy[0]])
        let logits = lastRow(noGrad { model.forward(tokens: IntTensor([3], shape: [1, 1])) })
        let second = logits.indices.filter { $0 != greedy[0] }.max { logits[$0] < logits[$1] }!
        XCTAssertEqual(avoided, [second])
        let banned: Set<Int> = [0, 4, 7, 11, 19]
        let sampled = model.generate(prompt: [3], maxTokens: 200, temperature: 1, generator: &generator, banned: banned)
        XCTAssertEqual(sampled.count, 200)
        XCTAssertTrue(banned.isDisjoint(with: sampled), "\(sampled)")
    }

    func testGenerationRestoresTrainingMode() {
        let model = model(.gpt2)
        model.train()
        var generator = RandomGenerator(seed: 0)
        _ = model.generate(prompt: [1], maxTokens: 2, generator: &generator)
        XCTAssertTrue(model.isTraining)
        XCTAssertEqual(Autograd.pendingOps, 0)
    }

    // MARK: sampling filters

    let logits: [Float] = [1.0, 3.0, 2.0, 0.5, 2.5]

    func testDistributionIsTheTemperedSoftmax() {
        let p = TokenSampling.distribution(logits: logits, temperature: 2)
        let weights = logits.map { Foundation.exp(Double($0) / 2) }, total = weights.reduce(0, +)
        for (a, b) in zip(p, weights) { XCTAssertEqual(Double(a), b / total, accuracy: 1e-6) }
    }

    func testTopKKeepsTheKMostLikely() {
        let p = TokenSampling.distribution(logits: logits, temperature: 1, topK: 2)
        XCTAssertEqual(p.indices.filter { p[$0] > 0 }, [1, 4])
        XCTAssertEqual(Double(p[1]), 1 / (1 + Foundation.exp(-0.5)), accuracy: 1e-6)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
    }

    /// Nucleus: the smallest set, by decreasing probability, whose mass reaches p. Softmax of the logits is
    /// ≈ [0.062, 0.456, 0.168, 0.037, 0.277]: top-p 0.3 keeps id 1 alone, 0.7 keeps ids 1 and 4 (0.733),
    /// 0.8 adds id 2 (0.901).
    func testTopPKeepsTheSmallestNucleus() {
        func kept(_ topP: Float) -> [Int] {
            let p = TokenSampling.distribution(logits: logits, temperature: 1, topP: topP)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
            return p.indices.filter { p[$0] > 0 }
        }
        XCTAssertEqual(kept(0.3), [1])
        XCTAssertEqual(kept(0.7), [1, 4])
        XCTAssertEqual(kept(0.8), [1, 2, 4])
        XCTAssertEqual(kept(1.0), [0, 1, 2, 3, 4])
    }

    func testTopKThenTopP() {
        let p = TokenSampling.distribution(logits: logits, temperature: 1, topK: 3, topP: 0.7)
        // Within the top 3 (ids 1, 4, 2) the renormalised masses are ≈ 0.509, 0.309, 0.187: 0.7 needs ids 1 and 4.
        XCTAssertEqual(p.indices.filter { p[$0] > 0 }, [1, 4])
    }

    func testGreedyIsArgmaxWithLowestIdOnTies() {
        var generator = RandomGenerator(seed: 0)
        XCTAssertEqual(TokenSampling.sample(logits: logits, temperature: 0, generator: &generator), 1)
        XCTAssertEqual(TokenSampling.sample(logits: [2, 5, 5, 1], temperature: 0, generator: &generator), 1)
    }

    /// Empirical frequencies of 20,000 draws with top-k 3 match the filtered distribution within 0.015
    /// (about 4 standard deviations of a frequency near 0.5).
    func testSampleFrequenciesFollowTheFilteredDistribution() {
        var generator = RandomGenerator(seed: 9)
        let expected = TokenSampling.distribution(logits: logits, temperature: 0.8, topK: 3)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<20_000 {
            counts[TokenSampling.sample(logits: logits, temperature: 0.8, topK: 3, generator: &generator)] += 1
        }
        for id in logits.indices { XCTAssertEqual(Float(counts[id]) / 20_000, expected[id], accuracy: 0.015, "id \(id)") }
        XCTAssertEqual(counts[0] + counts[3], 0)
    }
}
