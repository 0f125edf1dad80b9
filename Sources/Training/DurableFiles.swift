import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system steps that survive a crash or power loss: data reaches the disk (fsync) before a rename makes it
/// visible, and the directory holding the renamed entry is synced so that the rename itself is durable.

/// Flushes a file or directory to disk.
func fsyncPath(_ url: URL) throws {
    let descriptor = open(url.path, O_RDONLY)
    guard descriptor >= 0 else { throw FileError(path: url.path, operation: "open to sync", reason: FileError.reason(errno: errno)) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw FileError(path: url.path, operation: "sync to disk", reason: FileError.reason(errno: errno)) }
}

/// rename(2): atomic replacement of `destination` when it is a file or an empty directory.
func renameItem(_ source: URL, to destination: URL) throws {
    guard rename(source.path, destination.path) == 0 else {
        throw FileError(path: source.path, operation: "rename to \(destination.path)", reason: FileError.reason(errno: errno))
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
        throw FileError(error, operation: "write", path: url.path)
    }
}

/// Creates `url` and its parents when missing.
func createDirectory(_ url: URL) throws {
    try FileError.createDirectory(url)
}
