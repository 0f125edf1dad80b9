import FileErrors
import Foundation

/// A telephone channel (the narrowband domain of HYKIST, Vieting et al. 2023): the audio resampled to 8 kHz,
/// band-limited to the telephone band, through a codec (G.711 μ-law or A-law at 8 bits, or GSM 06.10), then back at
/// 16 kHz and 16 bits so that the same features and models read it. All by sox, so the same input gives the same file.
public struct TelephoneChannel: Codable, Equatable, Sendable {
    public enum Codec: String, CaseIterable, Codable, Sendable { case none, ulaw, alaw, gsm }

    public var codec = Codec.ulaw
    /// The pass band in Hz (the telephone's 300–3,400 by default): sox's sinc band-pass before the codec.
    public var lowHz = 300
    public var highHz = 3_400

    public init(codec: Codec = .ulaw, lowHz: Int = 300, highHz: Int = 3_400) {
        (self.codec, self.lowHz, self.highHz) = (codec, lowHz, highHz)
    }

    public var problem: String? {
        (0 < lowHz && lowHz < highHz && highHz < 4_000) ? nil : "the band must satisfy 0 < low < high < 4000 Hz, got \(lowHz)-\(highHz)"
    }

    /// input (any WAV sox reads) → output, a 16 kHz 16-bit mono WAV of the channel's narrowband audio. The
    /// intermediate 8 kHz file is `scratch` (its extension names the codec's container).
    public func apply(_ input: URL, to output: URL, scratch: URL, sox: URL) throws {
        let narrow: URL, encoding: [String]
        switch codec {
        case .none: (narrow, encoding) = (scratch.appendingPathExtension("wav"), ["-e", "signed-integer", "-b", "16"])
        case .ulaw: (narrow, encoding) = (scratch.appendingPathExtension("wav"), ["-e", "u-law", "-b", "8"])
        case .alaw: (narrow, encoding) = (scratch.appendingPathExtension("wav"), ["-e", "a-law", "-b", "8"])
        case .gsm: (narrow, encoding) = (scratch.appendingPathExtension("gsm"), [])
        }
        defer { try? FileManager.default.removeItem(at: narrow) }
        try ExternalTools.run(sox, ["-D", input.path, "-r", "8000", "-c", "1"] + encoding + [narrow.path, "sinc", "\(lowHz)-\(highHz)"])
        try ExternalTools.run(sox, ["-D", narrow.path, "-r", "\(WAVFile.sampleRate)", "-e", "signed-integer", "-b", "16", output.path])
    }
}

/// `pretrain data telephone IN --out DIR`: every WAV of a corpus through a telephone channel, at the same relative
/// paths, with the manifest copied (so probes, `features prepare` and `--where` read DIR as they read IN) and the
/// channel written to DIR/telephone.json. Existing outputs are kept (a run resumes).
public enum TelephoneCorpus {
    public static let channelFile = "telephone.json"

    @discardableResult
    public static func convert(input: URL, output: URL, channel: TelephoneChannel, jobs: Int = 1,
                               progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> Int {
        if let problem = channel.problem { throw SynthesisError.badOption(problem) }
        guard jobs >= 1 else { throw SynthesisError.badOption("--jobs must be ≥ 1 (got \(jobs))") }
        let sox = try ExternalTools.locate("sox")
        let manager = FileManager.default
        guard let walker = manager.enumerator(at: input, includingPropertiesForKeys: nil) else {
            throw SynthesisError.badOption("\(input.path): not a readable directory")
        }
        let prefix = input.standardizedFileURL.path + "/"
        let files = walker.compactMap { ($0 as? URL)?.standardizedFileURL }.filter { $0.pathExtension.lowercased() == "wav" }
            .map { String($0.path.dropFirst(prefix.count)) }.sorted()
        guard !files.isEmpty else { throw SynthesisError.badOption("\(input.path): no WAV files") }
        try FileCopies.checkChannel(output: output, channel: channel)
        let state = ParallelJobState()
        DispatchQueue.concurrentPerform(iterations: jobs) { worker in
            for index in stride(from: worker, to: files.count, by: jobs) where !state.failed {
                let target = output.appendingPathComponent(files[index])
                do {
                    if !manager.fileExists(atPath: target.path) {
                        try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                        let partial = target.deletingPathExtension().appendingPathExtension("partial.wav")
                        try channel.apply(input.appendingPathComponent(files[index]), to: partial,
                                          scratch: target.deletingPathExtension().appendingPathExtension("narrow"), sox: sox)
                        try manager.moveItem(at: partial, to: target)
                    }
                    progress(state.finishOne(), files.count)
                } catch { state.fail(error) }
            }
        }
        if let error = state.error { throw error }
        let manifest = input.appendingPathComponent(CorpusFiles.manifest)
        if manager.fileExists(atPath: manifest.path) {
            let copy = output.appendingPathComponent(CorpusFiles.manifest)
            try? manager.removeItem(at: copy)
            try manager.copyItem(at: manifest, to: copy)
        }
        return files.count
    }
}

/// The channel a directory was made with: written first, and a directory made with another channel is refused.
enum FileCopies {
    static func checkChannel(output: URL, channel: TelephoneChannel) throws {
        let url = output.appendingPathComponent(TelephoneCorpus.channelFile)
        if let data = try? Data(contentsOf: url) {
            guard let existing = try? JSONDecoder().decode(TelephoneChannel.self, from: data), existing == channel else {
                throw SynthesisError.badOption("\(output.path) holds audio of another channel (\(url.path)); choose another --out")
            }
            return
        }
        do { try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true) } catch {
            throw SynthesisError.unwritableOutput("cannot create \(output.path): \(FileError.reason(error, path: output.path))")
        }
        try CorpusFiles.writeJSON(channel, to: url)
    }
}

/// The workers' shared count of finished items and first error (parallel rendering and conversion).
public final class ParallelJobState: @unchecked Sendable {
    private let lock = NSLock()
    private var finished = 0
    public private(set) var error: Error?
    public init() {}
    public var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
    public func finishOne() -> Int { lock.lock(); defer { lock.unlock() }; finished += 1; return finished }
    public func fail(_ error: Error) { lock.lock(); defer { lock.unlock() }; if self.error == nil { self.error = error } }
}
