import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive claim on a run directory: flock(2) on RUN/.lock, which holds the owner's pid. Two processes
/// writing one run (two `train --resume`) would interleave metrics rows and delete each other's partial
/// checkpoints; the second now fails at once, naming the first. The kernel drops the lock when its process dies,
/// however it dies, so a killed run never leaves its directory locked. flock locks belong to an open file, so two
/// trainers in one process exclude each other too.
public final class RunLock {
    public let url: URL
    private var descriptor: Int32

    fileprivate init(url: URL, descriptor: Int32) {
        self.url = url
        self.descriptor = descriptor
    }

    /// Gives the run directory up (also done when the lock is released from memory).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)  // closing the only descriptor of the open file drops its flock
        descriptor = -1
    }

    deinit { release() }
}

extension RunDirectory {
    /// RUN/.lock.
    public var lockFile: URL { url.appendingPathComponent(Name.lock) }

    /// Takes the run directory for this process (creating it when missing), or throws "run DIR is in use by pid N"
    /// without waiting when another holder has it.
    public func lock() throws -> RunLock {
        try createDirectory(url)
        let path = lockFile.path
        // O_CLOEXEC: a child process (a decoder, a shell) must not inherit, and so keep, the lock.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TrainingError("\(path): cannot open the run's lock file: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw TrainingError("\(path): cannot lock the run directory: \(String(cString: strerror(reason)))")
            }
            let holder = (try? String(contentsOf: lockFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            throw TrainingError("run \(self.path) is in use by " + (holder.flatMap(Int32.init).map { "pid \($0)" } ?? "another process")
                + "; wait for it to finish or stop it (its lock: \(path))")
        }
        let pid = Data("\(getpid())\n".utf8)
        let written = pid.withUnsafeBytes { bytes in ftruncate(descriptor, 0) == 0 ? pwrite(descriptor, bytes.baseAddress, bytes.count, 0) : -1 }
        if written != pid.count {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw TrainingError("\(path): cannot write the run's lock file: \(reason)")
        }
        return RunLock(url: lockFile, descriptor: descriptor)
    }
}
