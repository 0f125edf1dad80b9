import Foundation

// Running the built `pretrain` under Open MPI's mpirun, for the tests of data-parallel commands.

/// `mpirun` on PATH, or nil when Open MPI's launcher is not installed (the tests that need it skip).
public func mpirunExecutable() -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// mpirun, or an error that fails the test: `make deps` installs Open MPI, so a missing launcher is a broken set-up,
/// not a reason to skip the data-parallel tests.
@discardableResult
public func requireMPIRun() throws -> URL {
    guard let mpirun = mpirunExecutable() else {
        throw PretrainProcessError("mpirun is not on PATH: install Open MPI (make deps, or apt-get install openmpi-bin libopenmpi-dev)")
    }
    return mpirun
}

/// mpirun options for TCP over the loopback interface instead of shared memory, the path a run across machines takes:
/// `pml ob1` so that a UCX build cannot bypass the btl choice, and `lo`, which Open MPI's TCP transport leaves out
/// unless told.
public let mpiOverLoopbackTCP = ["--mca", "pml", "ob1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo"]

/// Runs `mpirun --oversubscribe --allow-run-as-root -np ranks mpiOptions… pretrain arguments…` (CI runs as root on
/// one small machine) to its end: exit status and every rank's stdout + stderr. mpirun and its ranks are ended
/// after `timeout` seconds (a collective that hangs fails the test instead of the suite).
public func runPretrainUnderMPI(ranks: Int, mpiOptions: [String] = [], _ arguments: [String],
                                timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
    let mpirun = try requireMPIRun()
    let process = Process()
    process.executableURL = mpirun
    process.arguments = ["--oversubscribe", "--allow-run-as-root", "-np", "\(ranks)"] + mpiOptions
        + [try pretrainExecutable().path] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    deadline.cancel()
    return (process.terminationStatus, output)
}
