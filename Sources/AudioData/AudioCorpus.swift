import Foundation

/// Audio files of a corpus (a file, or a directory searched recursively) loaded for feature extraction:
/// a file that cannot be decoded is reported and skipped, and counted, rather than ending the run.
public struct AudioCorpus {
    /// Extensions looked for in directories (a file given by name is always tried).
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "aiff", "aif", "au", "w64", "caf"]

    public struct File {
        /// The path relative to the directory given (the file's name when a file was given).
        public var key: String
        public var url: URL
    }

    public struct Skipped {
        public var key: String
        public var reason: String
        /// Skipped for bad content (`AudioError.isBadAudio`) rather than because it could not be decoded.
        public var isBadAudio = false
        public var error: AudioError { AudioError(reason) }
    }

    /// Files in a stable order (sorted by key).
    public let files: [File]

    /// `input` is an audio file or a directory; throws when it does not exist or holds no audio file.
    public init(_ input: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isDirectory) else {
            throw AudioError("\(input.path): no such file or directory")
        }
        guard isDirectory.boolValue else {
            files = [File(key: input.lastPathComponent, url: input)]
            return
        }
        let root = input.standardizedFileURL.resolvingSymlinksInPath()
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw AudioError("\(input.path): cannot list the directory")
        }
        var found: [File] = []
        for case let url as URL in walker where Self.audioExtensions.contains(url.pathExtension.lowercased()) {
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            let key = path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : url.lastPathComponent
            found.append(File(key: key, url: url))
        }
        guard !found.isEmpty else {
            throw AudioError("\(input.path): no audio files (\(Self.audioExtensions.sorted().joined(separator: ", ")))")
        }
        files = found.sorted { $0.key < $1.key }
    }

    /// Loads every file at `sampleRate` and hands it to `body` in order; undecodable files are collected in the
    /// returned list (key and libsndfile's reason) and skipped. A file of bad audio (non-finite samples, an absurd
    /// sample rate or length) ends the loop with its error unless `skipBadAudio`, when it is skipped and listed too.
    /// Errors thrown by `body` end the loop. `progress` gets (files done, files) after each file.
    @discardableResult
    public func forEachWaveform(sampleRate: Int = 16_000, skipBadAudio: Bool = false,
                                progress: (_ done: Int, _ total: Int) -> Void = { _, _ in },
                                _ body: (File, Waveform) throws -> Void) throws -> [Skipped] {
        var skipped: [Skipped] = []
        for (index, file) in files.enumerated() {
            defer { progress(index + 1, files.count) }
            let waveform: Waveform
            do {
                waveform = try Waveform(contentsOf: file.url, sampleRate: sampleRate)
            } catch let error as AudioError {
                if error.isBadAudio && !skipBadAudio { throw error }
                skipped.append(Skipped(key: file.key, reason: error.message, isBadAudio: error.isBadAudio))
                continue
            }
            try body(file, waveform)
        }
        return skipped
    }
}
