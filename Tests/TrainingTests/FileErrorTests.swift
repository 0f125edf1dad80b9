import FileErrors
import Foundation
import TestSupport
import Training
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// File-system failures reach the user as one line naming the path, the operation and the reason in plain words.
final class FileErrorTests: XCTestCase {
    func testFoundationAndPOSIXErrorsReadAsPlainWords() {
        let underlying = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        let cocoa = NSError(domain: NSCocoaErrorDomain, code: 640, userInfo: [NSUnderlyingErrorKey: underlying])
        XCTAssertEqual(FileError.reason(cocoa), "no space left on the device")
        XCTAssertEqual(FileError.reason(CocoaError(.fileWriteOutOfSpace)), "no space left on the device")
        XCTAssertEqual(FileError.reason(CocoaError(.fileWriteNoPermission)), "permission denied")
        XCTAssertEqual(FileError.reason(CocoaError(.fileWriteFileExists)), "it already exists as a file")
        XCTAssertEqual(FileError.reason(CocoaError(.fileWriteVolumeReadOnly)), "the file system is read-only")
        XCTAssertEqual(FileError.reason(POSIXError(.EISDIR)), "it is a directory")
        XCTAssertEqual(FileError(CocoaError(.fileNoSuchFile), operation: "read the recipe", path: "/a/b.yaml").description,
                       "/a/b.yaml: cannot read the recipe: no such file or directory")
    }

    func testADirectoryWhereAFileShouldBeIsNamedAsADirectory() throws {
        let directory = try makeTemporaryDirectory()
        XCTAssertThrowsError(try Recipe.load(directory)) {
            XCTAssertEqual("\($0)", "\(directory.path): cannot read the recipe: it is a directory")
        }
    }

    func testCreatingADirectoryWhereAFileIsNamesTheFile() throws {
        let root = try makeTemporaryDirectory()
        let file = root.appendingPathComponent("taken")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try FileError.createDirectory(file)) {
            XCTAssertEqual("\($0)", "\(file.path): cannot create the directory: it already exists as a file")
        }
        let below = file.appendingPathComponent("run/checkpoints")
        XCTAssertThrowsError(try FileError.createDirectory(below)) {
            XCTAssertEqual("\($0)", "\(below.path): cannot create the directory: \(file.path) is a file, not a directory")
        }
        XCTAssertNoThrow(try FileError.createDirectory(root.appendingPathComponent("fresh/nested")))
    }

    /// /dev/full fails every write with ENOSPC: the disk-full case without filling a disk.
    func testAMetricsAppendOnAFullDiskNamesTheFileAndTheReason() throws {
        let log = try MetricsLog(url: URL(fileURLWithPath: "/dev/full"))
        XCTAssertThrowsError(try log.append(MetricsRecord(step: 1))) {
            XCTAssertEqual("\($0)", "/dev/full: cannot append to the metrics log: no space left on the device")
        }
    }

    /// A file-size limit (RLIMIT_FSIZE) lets the first write(2) of a row go part-way and fails the rest with EFBIG,
    /// as a disk that fills mid-row does: the row must leave nothing behind, so the log stays whole lines.
    func testAnAppendThatFailsPartWayLeavesNoTornLine() throws {
        let url = try makeTemporaryDirectory().appendingPathComponent("metrics.jsonl")
        let log = try MetricsLog(url: url)
        try log.append(MetricsRecord(step: 1, loss: 2.5))
        let whole = try Data(contentsOf: url)

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limited = saved
        limited.rlim_cur = rlim_t(whole.count + 10)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited), 0)
        let failure = Result { try log.append(MetricsRecord(step: 2, loss: 2.25)) }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)

        XCTAssertThrowsError(try failure.get()) {
            XCTAssertEqual("\($0)", "\(url.path): cannot append to the metrics log: the file is too large")
        }
        XCTAssertEqual(try Data(contentsOf: url), whole, "the failed row was cut back out")
        try log.append(MetricsRecord(step: 3, loss: 2.0))
        XCTAssertEqual(try readMetrics(url).map(\.step), [1, 3])
    }

    func testAJSONFileThatCannotBeReadOrDoesNotDecodeSaysWhichAndNamesTheKey() throws {
        struct Result: Decodable { struct Score: Decodable { let mean: Double }; let name: String; let scores: [Score] }
        let root = try makeTemporaryDirectory()
        func decode(_ text: String?, _ name: String = "result.json") -> String {
            let url = root.appendingPathComponent(name)
            if let text { try? Data(text.utf8).write(to: url) }
            do { _ = try JSONFile.decode(Result.self, from: url, expected: "a result of pretrain x"); return "decoded" } catch {
                return "\(error)"
            }
        }
        let path = root.appendingPathComponent("result.json").path
        XCTAssertEqual(decode(nil, "none.json"), "\(root.appendingPathComponent("none.json").path): cannot read a result of pretrain x: no such file or directory")
        XCTAssertEqual(decode(nil, ""), "\(root.path): cannot read a result of pretrain x: it is a directory")
        try Data("x".utf8).write(to: root.appendingPathComponent("file"))
        XCTAssertEqual(decode(nil, "file/result.json"),
                       "\(root.path)/file/result.json: cannot read a result of pretrain x: a part of the path is a file, not a directory")
        XCTAssertTrue(decode("not json").hasPrefix("\(path): not a result of pretrain x (not valid JSON: "), decode("not json"))
        XCTAssertEqual(decode(#"{"name": "a", "scores": [{"mean": 1}, {}]}"#), "\(path): not a result of pretrain x (missing key scores[1].mean)")
        XCTAssertTrue(decode(#"{"name": 3, "scores": []}"#).hasPrefix("\(path): not a result of pretrain x (name: Expected to decode String"),
                      decode(#"{"name": 3, "scores": []}"#))
        XCTAssertTrue(decode("[1]").hasPrefix("\(path): not a result of pretrain x (Expected to decode Dictionary"), decode("[1]"))
        XCTAssertEqual(decode(#"{"name": "a", "scores": [{"mean": 1}]}"#), "decoded")
    }
}
