import Foundation

// Running the `pretrain` executable as a user does, for the tests that check its command lines.

/// The pretrain executable built beside the test bundle (.build/<config>/pretrain), looked for upward from it.
public func pretrainExecutable() throws -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while true {
        let candidate = directory.appendingPathComponent("pretrain")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        guard directory.path != "/" else {
            throw PretrainProcessError("pretrain executable not found beside the tests (build it: swift build --build-tests)")
        }
        directory.deleteLastPathComponent()
    }
}

/// Runs `pretrain arguments` (in `directory` when given) to its end: exit status and stdout + stderr.
public func runPretrain(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = try pretrainExecutable()
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// The pretrain executable is not where the tests look for it.
public struct PretrainProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
