/// What can go wrong while synthesising a corpus; every message names the tool, file or flag at fault.
public enum SynthesisError: Error, CustomStringConvertible, Equatable {
    /// A tool is not on PATH: the message names the Debian package that provides it.
    case missingTool(String)
    case unwritableOutput(String)
    case unknownLanguage(String)
    case missingText(String)
    case badOption(String)
    /// espeak-ng or sox failed on one utterance (command, exit status, stderr).
    case toolFailed(String)
    case badAudio(String)

    public var description: String {
        switch self {
        case .missingTool(let m), .unwritableOutput(let m), .unknownLanguage(let m), .missingText(let m),
             .badOption(let m), .toolFailed(let m), .badAudio(let m):
            return m
        }
    }
}
