import Distributed
import Foundation
import TestSupport
import XCTest

/// `pretrain bench allreduce` and `pretrain sysinfo` as a user runs them: under mpirun with 2 ranks on shared memory
/// and on TCP, and without mpirun.
final class BenchAllReduceCommandTests: XCTestCase {
    /// Rank 0 alone prints: one header, one row per collective and size, a fit per collective; the JSON agrees.
    private func checkQuickRun(mpiOptions: [String], transport: String) throws {
        let directory = try makeTemporaryDirectory("\(transport)")
        let json = directory.appendingPathComponent("allreduce.json")
        let result = try runPretrainUnderMPI(ranks: 2, mpiOptions: mpiOptions, ["bench", "allreduce", "--quick", "--json", json.path])
        XCTAssertEqual(result.status, 0, "\(transport): \(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("# Open MPI") && $0.contains("2 ranks") }.count, 1, "\(transport): \(result.output)")
        XCTAssertEqual(lines.filter { $0.hasPrefix("# collective") }.count, 1, "\(transport): \(result.output)")
        for collective in ["allreduce", "reduce_scatter+all_gather"] {
            for size in ["4 KiB", "64 KiB", "1 MiB"] {
                let rows = lines.filter { $0.hasPrefix("  \(collective) ") && $0.contains(" \(size) ") }
                XCTAssertEqual(rows.count, 1, "\(transport): \(collective) \(size): \(result.output)")
            }
            XCTAssertEqual(lines.filter { $0.hasPrefix("# fit \(collective): α = ") }.count, 1, "\(transport): \(result.output)")
        }
        let report = try JSONDecoder().decode(CollectiveBenchmark.Report.self, from: Data(contentsOf: json))
        XCTAssertEqual(report.ranks, 2)
        XCTAssertEqual(report.measurements.count, 6)
        XCTAssertEqual(report.fits.count, 2)
        XCTAssertTrue(report.measurements.allSatisfy { $0.latencyMicroseconds > 0 && $0.busBandwidth == $0.algorithmBandwidth },
                      "\(transport): with 2 ranks busbw = algbw")
    }

    func testQuickRunOnSharedMemory() throws {
        try checkQuickRun(mpiOptions: [], transport: "shared-memory")
    }

    /// Open MPI's TCP transport over the loopback interface: the path a run across machines takes (pml ob1 so that
    /// a UCX build cannot bypass the btl choice).
    func testQuickRunOverTCP() throws {
        try checkQuickRun(mpiOptions: mpiOverLoopbackTCP, transport: "tcp")
    }

    func testWithoutMPIRunItSaysHowToLaunchIt() throws {
        let result = try runPretrain(["bench", "allreduce", "--quick"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines),
                       "Error: pretrain bench allreduce must be launched by mpirun with 2 or more ranks, "
                       + "e.g. mpirun -np 2 pretrain bench allreduce")
    }

    func testSysinfoNamesTheWorld() throws {
        let single = try runPretrain(["sysinfo", "--size", "64"])
        XCTAssertEqual(single.status, 0, single.output)
        XCTAssertTrue(single.output.contains("mpi:        not launched by mpirun (single process); Open MPI"), single.output)
        let two = try runPretrainUnderMPI(ranks: 2, ["sysinfo", "--size", "64"])
        XCTAssertEqual(two.status, 0, two.output)
        let mpiLines = two.output.split(separator: "\n").filter { $0.hasPrefix("mpi:") }
        XCTAssertEqual(mpiLines.count, 1, "rank 0 alone prints: \(two.output)")
        XCTAssertTrue(mpiLines.first?.contains(", rank 0 of 2 (2 on this machine)") ?? false, two.output)
        XCTAssertEqual(two.output.split(separator: "\n").filter { $0.hasPrefix("cpu:") }.count, 1, two.output)
    }
}
