import Foundation

/// The job this process belongs to, found once: under `mpirun` (Open MPI's environment names the world) the MPI
/// communicator of every rank, else a single process. `pretrain` calls `World.start()` before anything else.
public enum World {
    nonisolated(unsafe) private static var started: Communicator?

    /// The job's communicator (a single process until `start()` found MPI).
    public static var current: Communicator { started ?? SingleProcess() }

    /// True when the environment says this process was launched by an MPI launcher with more than one rank or any
    /// rank at all (`OMPI_COMM_WORLD_SIZE`, or PMIx's `PMIX_RANK`).
    public static var launchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Starts MPI when launched by `mpirun`, else the single process; returns the communicator (idempotent).
    @discardableResult
    public static func start() throws -> Communicator {
        if let started { return started }
        let communicator: Communicator = launchedByMPI ? try MPICommunicator.start() : SingleProcess()
        started = communicator
        return communicator
    }

    /// One line for `pretrain sysinfo`: the engine and this process' place in the job ("Open MPI v4.1.4, rank 0 of 2
    /// (2 on this machine)"), or that it is a single process and which MPI library it would use under mpirun.
    public static var summary: String {
        let world = current
        guard world is MPICommunicator else {
            return "not launched by mpirun (single process); \(MPICommunicator.libraryName) found"
        }
        return "\(world.engine), rank \(world.rank) of \(world.size) (\(world.localSize) on this machine)"
    }

    /// Ends MPI cleanly (a rank that returns from main without it makes mpirun report an abnormal end).
    public static func finish() {
        (started as? MPICommunicator)?.finish()
    }
}

enum FileHandleOutput {
    static func standardError(_ message: String) {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
    }
}
