import Foundation

/// Ends a data-parallel job that stopped making progress: a rank that hangs (stopped, swapping, a network that
/// drops packets without closing the connection) keeps every other rank blocked in a collective, and mpirun only
/// notices ranks that exit. The trainer calls `beat()` after each step; when none came for `timeout` seconds a
/// thread prints a line naming this rank and the wait, and exits with status 1, so mpirun ends the whole job.
public final class ProgressWatchdog {
    private let lock = NSLock()
    private var last = Date()
    private var stopped = false
    public let timeout: TimeInterval

    /// Starts watching at once (the first beat is due `timeout` seconds from now).
    public init(timeout: TimeInterval, message: @escaping (TimeInterval) -> String) {
        self.timeout = timeout
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: min(1, max(0.05, timeout / 10)))
                guard let self else { return }
                let (waited, done) = self.lock.withLock { (Date().timeIntervalSince(self.last), self.stopped) }
                if done { return }
                if waited > timeout {
                    FileHandleOutput.standardError("\n" + message(waited))   // below a live status line
                    _exit(1)
                }
            }
        }
        thread.stackSize = 1 << 18
        thread.start()
    }

    /// Progress was made.
    public func beat() { lock.withLock { last = Date() } }

    /// No more watching (the run ended).
    public func stop() { lock.withLock { stopped = true } }
}
