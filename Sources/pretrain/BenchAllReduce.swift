import ArgumentParser
import Distributed
import FileErrors
import Foundation

/// `pretrain bench allreduce`, under mpirun: OSU-style latency and bandwidth of the collectives data-parallel
/// training uses (blocking all-reduce of floats; reduce-scatter + all-gather, ZeRO-1's pair) from 4 KiB to 64 MiB,
/// every sum checked, and the α–β model fitted per collective. Rank 0 prints the table (and writes `--json`); the
/// other ranks print nothing.
struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time all-reduce and reduce-scatter + all-gather of floats across mpirun's ranks; prints a table.",
        discussion: "Run it under mpirun, e.g. mpirun -np 2 pretrain bench allreduce (add --mca pml ob1 --mca btl tcp,self "
            + "to measure TCP instead of shared memory on one machine).")

    @Option(help: "Message sizes in bytes, comma-separated; K, M, G are 1024, 1024², 1024³ (default: 4K to 64M in powers of 4).")
    var sizes: String?
    @Option(help: "Timed calls per size (default: 1000 for small messages, fewer for large ones, at least 10).")
    var iterations: Int?
    @Flag(help: "The CI size: 4K, 64K and 1M, 20 calls each (--sizes and --iterations override it).")
    var quick = false
    @Option(help: "Also write the measurements and fits to this JSON file (rank 0).")
    var json: String?

    func run() throws {
        let world = World.current
        guard World.launchedByMPI else {
            throw CommandFailure("pretrain bench allreduce must be launched by mpirun with 2 or more ranks, "
                                 + "e.g. mpirun -np 2 pretrain bench allreduce")
        }
        guard world.size >= 2 else {
            throw CommandFailure("pretrain bench allreduce needs 2 or more ranks; mpirun started \(world.size) (use mpirun -np 2 or more)")
        }
        do {
            try measure(world)
        } catch where world.rank != 0 {
            // Every rank fails together (a wrong sum is known to all); rank 0 says why, once.
            throw ExitCode.failure
        }
    }

    /// Runs the benchmark on every rank; rank 0 prints each row as it comes, the fits, and writes the JSON file.
    func measure(_ world: Communicator) throws {
        var settings = quick ? CollectiveBenchmark.Settings.quick : CollectiveBenchmark.Settings()
        if let sizes {
            settings.sizes = try sizes.split(separator: ",").map { try CollectiveBenchmark.parseSize(String($0)) }
        }
        if let iterations { settings.iterations = iterations }
        if let problem = CollectiveBenchmark.problem(with: settings) { throw CommandFailure(problem) }
        let printing = world.isRoot
        if printing { emit(CollectiveBenchmark.header(engine: world.engine, ranks: world.size, localRanks: world.localSize)) }
        let report = try CollectiveBenchmark.run(on: world, settings: settings) { measurement in
            if printing { emit(CollectiveBenchmark.row(measurement)) }
        }
        guard printing else { return }
        for fit in report.fits { emit(CollectiveBenchmark.fitLine(fit)) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(report)
            try FileError.wrap("write", path: json) { try data.write(to: URL(fileURLWithPath: json), options: .atomic) }
        }
    }

    /// Prints a line now (mpirun forwards a pipe, which would hold the rows until the end).
    private func emit(_ line: String) {
        print(line)
        fflush(stdout)
    }
}

/// A command that cannot run, in one line (ArgumentParser prints it as "Error: …" without the usage).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
