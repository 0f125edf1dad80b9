import Foundation
import TextData

/// llm.c token shards through `TokenShard.read` and `TokenShard.tokenCount`: header fields (magic, version, token
/// count) at extreme values, files cut short or longer than the header says.
enum ShardFuzzing {
    /// A shard as `TokenShard.write` lays it out: 256 little-endian Int32 (magic, version, count, zeros), tokens.
    static func shard(_ tokens: [Int], wide: Bool) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: TokenShard.headerBytes)
        FieldMutations.set32(&bytes, at: 0, UInt32(bitPattern: wide ? TokenShard.magic32 : TokenShard.magic16))
        FieldMutations.set32(&bytes, at: 4, UInt32(bitPattern: wide ? TokenShard.version32 : TokenShard.version16))
        FieldMutations.set32(&bytes, at: 8, UInt32(tokens.count))
        for token in tokens {
            for k in 0..<(wide ? 4 : 2) { bytes.append(UInt8(truncatingIfNeeded: token >> (8 * k))) }
        }
        return bytes
    }

    static let seeds = [shard((0..<64).map { ($0 * 37) % 300 }, wide: false),
                        shard((0..<48).map { ($0 * 7919) % 100_000 }, wide: true), shard([], wide: false)]

    static func family(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var bytes = random.pick(seeds)
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput("train_000000.bin", bytes)
        }
    }

    /// Magic, version and token count, each near its value or at an extreme one.
    static func headerField(_ bytes: inout [UInt8], _ random: inout FuzzRandom) {
        let offset = random.pick([0, 4, 8, 8, 8, 12, random.int(0..<TokenShard.headerBytes)])
        if offset == 0 && random.chance(0.5) {
            FieldMutations.set32(&bytes, at: 0, UInt32(bitPattern: random.pick([TokenShard.magic16, TokenShard.magic32])))
        } else {
            FieldMutations.perturb32(&bytes, at: offset, &random)
        }
    }

    static let target = FuzzTarget(
        name: "shard", parses: "llm.c token shards (TokenShard.read, TokenShard.tokenCount)",
        seeds: seeds.map { FuzzInput("train_000000.bin", $0) },
        families: [
            family("header", headerField),
            family("bytes") { ByteMutations.havoc(&$0, &$1) },
            family("length") { bytes, random in
                random.pick([ByteMutations.truncate, ByteMutations.appendGarbage, ByteMutations.duplicateSlice])(&bytes, &random)
            },
        ],
        parse: { _, directory in
            let url = directory.appendingPathComponent("train_000000.bin")
            let count = try TokenShard.tokenCount(url)
            let tokens = try TokenShard.read(url)
            guard tokens.count == count else { throw FuzzFinding("tokenCount says \(count), read gives \(tokens.count) tokens") }
        })
}

/// A parser accepted an input that breaks what it promises (not a parser error: the summary counts it as an
/// error, and its message says what broke).
struct FuzzFinding: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "FINDING: " + description }
}
