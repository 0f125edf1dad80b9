import Foundation
import SafeTensors

/// safetensors files through `SafeTensorsFile(contentsOf:)` and every tensor read back: the JSON header mutated
/// with the length prefix kept right (so the header parser sees it), the length prefix itself, the data buffer.
enum SafeTensorsFuzzing {
    static let seeds: [[UInt8]] = {
        var mixed = SafeTensorsWriter(metadata: ["format": "pt", "step": "10"])
        var single = SafeTensorsWriter()
        do {
            try mixed.add("wte.weight", shape: [3, 4], floats: (0..<12).map { Float($0) * 0.5 - 2 })
            try mixed.add("ln.weight", shape: [4], floats: [1, 2, 3, 4], as: .bf16)
            try mixed.add("head.weight", shape: [2, 2], floats: [1, -1, 0x1p-24, 65504], as: .f16)
            try mixed.add("ids", shape: [5], ints: [0, 1, 2, 50256, -100])
            try mixed.add("lengths", shape: [2], ints: [7, 9], as: .i32)
            try mixed.add("scalar", shape: [], floats: [3])
            try mixed.add("empty", shape: [0, 4], floats: [])
            try single.add("w", shape: [2, 2, 2], floats: [Float](repeating: 1, count: 8))
        } catch {
            preconditionFailure("the seed tensors are valid: \(error)")
        }
        return [Array(mixed.data()), Array(single.data())]
    }()

    /// (header JSON, data buffer) of a file laid out as the format says.
    static func split(_ file: [UInt8]) -> (header: [UInt8], buffer: [UInt8]) {
        let length = Int(file.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return (Array(file[8..<8 + length]), Array(file[(8 + length)...]))
    }

    static func join(_ header: [UInt8], _ buffer: [UInt8]) -> [UInt8] {
        var file = [UInt8](repeating: 0, count: 8)
        FieldMutations.set64(&file, at: 0, UInt64(header.count))
        return file + header + buffer
    }

    /// Mutates the header text, then writes the right length in front of it.
    static func headerFamily(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var (header, buffer) = split(random.pick(seeds))
            for _ in 0..<random.geometricCount(max: 3) { mutate(&header, &random) }
            return FuzzInput("model.safetensors", join(header, buffer))
        }
    }

    static func fileFamily(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var bytes = random.pick(seeds)
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput("model.safetensors", bytes)
        }
    }

    static let dtypes = SafeTensorsDType.allCases.map(\.rawValue) + ["F12", "", "f32", "F32 ", "BF16\\u0000"]

    static let target = FuzzTarget(
        name: "safetensors", parses: "safetensors files (SafeTensorsFile), every tensor read as floats, ints and bytes",
        seeds: seeds.map { FuzzInput("model.safetensors", $0) },
        families: [
            headerFamily("header-numbers") { TextMutations.replaceNumber(&$0, with: TextMutations.extremeNumbers, &$1) },
            headerFamily("header-strings") { TextMutations.replaceString(&$0, &$1) },
            headerFamily("header-dtype") { bytes, random in
                var text = String(decoding: bytes, as: UTF8.self)
                let spellings = SafeTensorsDType.allCases.map { "\"\($0.rawValue)\"" }.filter { text.contains($0) }
                if let old = spellings.isEmpty ? nil : random.pick(spellings), let range = text.range(of: old) {
                    text.replaceSubrange(range, with: "\"\(random.pick(dtypes))\"")
                }
                bytes = Array(text.utf8)
            },
            headerFamily("header-bytes") { bytes, random in
                random.pick([ByteMutations.havoc, ByteMutations.duplicateSlice, ByteMutations.insertInvalidUTF8])(&bytes, &random)
            },
            headerFamily("header-nesting") { TextMutations.nestJSON(&$0, &$1) },
            MutationFamily("length-prefix") { random in
                var bytes = random.pick(seeds)
                let length = split(bytes).header.count
                FieldMutations.set64(&bytes, at: 0, random.chance(0.5) ? random.pick(FieldMutations.interesting64)
                                     : UInt64(max(0, length + random.int(-9...9))))
                return FuzzInput("model.safetensors", bytes)
            },
            fileFamily("bytes") { ByteMutations.havoc(&$0, &$1) },
        ],
        parse: { _, directory in
            let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
            for name in file.names {
                let info = try file.info(name)
                if info.dtype.convertsToFloat { _ = try file.floats(name) }
                if info.dtype.convertsToInt { _ = try file.ints(name) }
                _ = try file.bytes(name)
            }
        })
}
