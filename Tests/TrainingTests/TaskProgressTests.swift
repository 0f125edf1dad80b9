import Foundation
import Training
import XCTest

/// The progress line of long commands: done of total, the rate and the time left.
final class TaskProgressTests: XCTestCase {
    func testTheLineShowsDoneTotalRateAndETA() {
        XCTAssertEqual(TaskProgress.status("features prepare", unit: "files", done: 120, total: 800, seconds: 8),
                       "features prepare: 120/800 files │ 15 files/s │ ETA 45s")
        XCTAssertEqual(TaskProgress.status("kmeans fit", unit: "updates", done: 3, total: 200, seconds: 60),
                       "kmeans fit: 3/200 updates │ 0.05 updates/s │ ETA 1h05m")
        XCTAssertEqual(TaskProgress.status("synth-speech pretrain", unit: "hours", done: 0.5, total: 1.5, seconds: 600),
                       "synth-speech pretrain: 0.50/1.50 hours │ 0.000833 hours/s │ ETA 20m00s")
    }

    func testNoRateBeforeAnyTimeHasPassedAndNoETAAtTheEnd() {
        XCTAssertEqual(TaskProgress.status("probe ks encoding", unit: "utterances", done: 1, total: 40, seconds: 0.1),
                       "probe ks encoding: 1/40 utterances")
        XCTAssertEqual(TaskProgress.status("probe ks encoding", unit: "utterances", done: 40, total: 40, seconds: 20),
                       "probe ks encoding: 40/40 utterances │ 2 utterances/s")
    }
}
