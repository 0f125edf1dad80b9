import Foundation

/// The lines of a JSON Lines file (manifest.jsonl, metrics.jsonl), split on newline bytes rather than on
/// Characters: a manifest of 10⁵ lines splits in milliseconds, and a CRLF file splits like an LF one.
public enum JSONLines {
    /// Each line that holds more than blanks (space, tab, CR), with its line number counted from 1.
    public static func lines(_ data: Data) -> [(number: Int, bytes: Data)] {
        var result: [(number: Int, bytes: Data)] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0, number = 1
            func close(_ end: Int) {
                if bytes[start..<end].contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                    result.append((number, Data(bytes[start..<end])))
                }
            }
            for index in 0..<bytes.count where bytes[index] == 0x0A {
                close(index)
                start = index + 1
                number += 1
            }
            close(bytes.count)
        }
        return result
    }
}
