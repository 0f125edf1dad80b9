import Foundation

/// One generated input: the files a parser reads, by name, and command-line values that go with them
/// (`--set` overrides for a recipe).
public struct FuzzInput {
    public var files: [(name: String, bytes: [UInt8])]
    public var arguments: [String] = []

    public init(files: [(name: String, bytes: [UInt8])], arguments: [String] = []) {
        self.files = files
        self.arguments = arguments
    }

    /// A single-file input.
    public init(_ name: String, _ bytes: [UInt8], arguments: [String] = []) {
        self.init(files: [(name, bytes)], arguments: arguments)
    }

    /// The bytes of file `name`, or empty.
    public func bytes(_ name: String) -> [UInt8] { files.first { $0.name == name }?.bytes ?? [] }

    public func text(_ name: String) -> String { String(decoding: bytes(name), as: UTF8.self) }

    /// Writes the files into `directory`, which is emptied first; returns it.
    @discardableResult
    public func write(into directory: URL) throws -> URL {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] {
            try manager.removeItem(at: directory.appendingPathComponent(name))
        }
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files { try Data(file.bytes).write(to: directory.appendingPathComponent(file.name)) }
        if !arguments.isEmpty {
            try Data((arguments.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("arguments.txt"))
        }
        return directory
    }
}

/// A way of making inputs for one parser: a seed and the mutations applied to it, under a name the summary and
/// the crash report print.
public struct MutationFamily {
    public let name: String
    /// The open issue item this family is known to hit (it traps, hangs or allocates without bound until the fix
    /// lands); `--skip-known` leaves the family out so that the CI smoke run stays green meanwhile.
    public let knownIssue: String?
    let make: (inout FuzzRandom) -> FuzzInput

    public init(_ name: String, knownIssue: String? = nil, make: @escaping (inout FuzzRandom) -> FuzzInput) {
        self.name = name
        self.knownIssue = knownIssue
        self.make = make
    }
}

/// A parser a user can feed, with its seeds' mutation families and the call that parses one input.
public struct FuzzTarget {
    public let name: String
    /// What is parsed, for `pretrain fuzz --help` and the summary.
    public let parses: String
    public let families: [MutationFamily]
    /// The unmutated seeds, each of which the parser accepts.
    public let seeds: [FuzzInput]
    /// Parses one input whose files are already in `directory`; returns when it is accepted, throws the parser's
    /// error when it is rejected.
    let parseFiles: (FuzzInput, URL) throws -> Void

    public init(name: String, parses: String, seeds: [FuzzInput], families: [MutationFamily],
                parse: @escaping (FuzzInput, URL) throws -> Void) {
        self.name = name
        self.parses = parses
        self.seeds = seeds
        self.families = families
        self.parseFiles = parse
    }

    /// Writes `input` into `directory` (emptied first) and parses it there.
    public func parse(_ input: FuzzInput, in directory: URL) throws {
        try parseFiles(input, input.write(into: directory))
    }

    /// Input `index` of the session seeded with `seed`, drawn from the families allowed (all, less those with a
    /// known issue when `skipKnown`, only `only` when given): (family, input).
    public func input(seed: UInt64, index: Int, skipKnown: Bool, only: String? = nil) -> (family: Int, input: FuzzInput) {
        var random = FuzzRandom(seed: seed, input: index)
        let allowed = families.indices.filter { index in
            (!skipKnown || families[index].knownIssue == nil) && (only == nil || only == families[index].name)
        }
        let family = random.pick(allowed)
        return (family, families[family].make(&random))
    }
}
