import FileErrors
import Foundation

/// espeak-ng and sox, found on PATH, with their versions; runs them with arguments (never through a shell).
public struct ExternalTools {
    public let espeak: URL
    public let sox: URL
    public let espeakVersion: String   // "1.51"
    public let soxVersion: String      // "14.4.2"
    /// espeak-ng's data directory, as its banner names it ("Data at: …"): voices/, voices/!v/ (the variants), …
    public let espeakData: URL?

    /// Finds both tools on `searchPath` (PATH by default); a missing one is named with its Debian package.
    public init(searchPath: String? = nil) throws {
        espeak = try Self.locate("espeak-ng", searchPath: searchPath)
        sox = try Self.locate("sox", searchPath: searchPath)
        // "eSpeak NG text-to-speech: 1.51  Data at: …" and "sox:      SoX v14.4.2"
        let espeakBanner = try Self.run(espeak, ["--version"]).stdout
        espeakVersion = espeakBanner.components(separatedBy: "text-to-speech:").last?
            .split(separator: " ").first.map(String.init) ?? espeakBanner
        espeakData = espeakBanner.components(separatedBy: "Data at:").dropFirst().first
            .map { URL(fileURLWithPath: $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let soxBanner = try Self.run(sox, ["--version"]).stdout
        soxVersion = soxBanner.components(separatedBy: "SoX v").last?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? soxBanner
    }

    /// The language names espeak-ng accepts as -v: the Language column of `espeak-ng --voices` ("en-gb",
    /// "en-us", "de", …) and the aliases in its Other Languages column ("(en 2)" makes "en" a name).
    public func languages() throws -> Set<String> {
        let listing = try Self.run(espeak, ["--voices"]).stdout
        var names = Set<String>()
        for line in listing.split(separator: "\n").dropFirst() {
            let columns = line.split(separator: " ")
            if columns.count > 1 { names.insert(String(columns[1])) }
            for alias in line.split(separator: "(").dropFirst() {
                if let name = alias.split(separator: " ").first { names.insert(String(name)) }
            }
        }
        return names
    }

    /// Fails with the first of `requested` that espeak-ng does not know.
    public func checkLanguages(_ requested: [String]) throws {
        let known = try languages()
        for language in requested where !known.contains(language) {
            throw SynthesisError.unknownLanguage(
                "unknown language '\(language)' (--languages): espeak-ng \(espeakVersion) has no such voice; `espeak-ng --voices` lists them")
        }
    }

    /// The executable `name` on `searchPath` (PATH by default); missing, an error naming the Debian package of that
    /// name.
    public static func locate(_ name: String, searchPath: String? = nil) throws -> URL {
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw SynthesisError.missingTool(
            "\(name) not found on PATH: install the Debian package \(name) (sudo apt-get install \(name), or make deps)")
    }

    public struct Output { public let stdout: String; public let stderr: String }

    /// Runs `tool` with `arguments`, `input` on stdin; throws with the command line and stderr if it fails.
    @discardableResult
    public static func run(_ tool: URL, _ arguments: [String], input: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        do { try process.run() } catch {
            throw SynthesisError.toolFailed("cannot start \(tool.path): \(FileError.reason(error, path: tool.path))")
        }
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        // Our tools print little (phonemes, versions, warnings): read stderr on a second thread all the same, so
        // that neither pipe can fill up and stall the child.
        let errorData = StderrBuffer()
        let errorRead = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errorData.data = stderr.fileHandleForReading.readDataToEndOfFile()
            errorRead.signal()
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        errorRead.wait()
        process.waitUntilExit()
        let output = Output(stdout: String(decoding: outData, as: UTF8.self),
                            stderr: String(decoding: errorData.data, as: UTF8.self))
        guard process.terminationStatus == 0 else {
            let command = ([tool.lastPathComponent] + arguments).joined(separator: " ")
            throw SynthesisError.toolFailed("\(command) failed (exit \(process.terminationStatus)): \(output.stderr)")
        }
        return output
    }
}

/// Written by the reading thread before it signals, read after the wait: the semaphore orders the two.
private final class StderrBuffer: @unchecked Sendable { var data = Data() }
