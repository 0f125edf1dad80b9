import Foundation

/// Busy processes beside a benchmark (`--background-load N`): each `yes` writing to /dev/null keeps one core busy, as
/// another job on a laptop would. Stopped (SIGKILL) when the benchmark ends.
public final class BackgroundLoad {
    private var processes: [Process] = []

    public init(processes count: Int) throws {
        for _ in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/yes")
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
    }

    public func stop() {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in processes { process.waitUntilExit() }
        processes.removeAll()
    }
}
