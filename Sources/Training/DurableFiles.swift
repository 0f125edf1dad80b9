import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system steps that survive a crash or power loss: data reaches the disk (fsync) before a rename makes it
/// visible, and the directory holding the renamed entry is synced so that the rename itself is durable.

struct FileSystemError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Flushes a file or directory to disk.
func fsyncPath(_ url: URL) throws {
    let descriptor = open(url.path, O_RDONLY)
    guard descriptor >= 0 else { throw FileSystemError("\(url.path): cannot open to sync: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw FileSystemError("\(url.path): fsync failed: \(String(cString: strerror(errno)))") }
}

/// rename(2): atomic replacement of `destination` when it is a file or an empty directory.
func renameItem(_ source: URL, to destination: URL) throws {
    guard rename(source.path, destination.path) == 0 else {
        throw FileSystemError("cannot rename \(source.path) to \(destination.path): \(String(cString: strerror(errno)))")
    }
}

/// Writes `data` to a temporary file beside `url`, syncs it, renames it over `url` and syncs the directory.
func writeFileAtomically(_ data: Data, to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    do {
        try data.write(to: temporary)
        try fsyncPath(temporary)
        try renameItem(temporary, to: url)
        try fsyncPath(directory)
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        // Foundation's errors print as an NSError dump; its localized description is the sentence a user needs.
        let reason = (error as? FileSystemError)?.message ?? error.localizedDescription
        throw FileSystemError("\(url.path): cannot write: \(reason)")
    }
}

/// Creates `url` and its parents when missing.
func createDirectory(_ url: URL) throws {
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw FileSystemError("\(url.path): cannot create directory: \(error.localizedDescription)")
    }
}
