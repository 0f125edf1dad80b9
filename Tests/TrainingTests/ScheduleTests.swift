import Optimizers
import XCTest

/// The learning-rate schedules at the steps that define their shapes (tolerance 1e-7 relative: Float results of
/// Double arithmetic).
final class ScheduleTests: XCTestCase {
    private func assertRates(_ schedule: LearningRateSchedule, _ expected: [Int: Float], file: StaticString = #filePath,
                             line: UInt = #line) {
        for (step, rate) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(schedule.learningRate(at: step), rate, accuracy: max(1e-12, abs(rate) * 1e-6),
                           "step \(step)", file: file, line: line)
        }
    }

    func testConstantWarmsUpLinearlyThenHolds() {
        assertRates(.constant(lr: 1e-3, warmup: 4), [0: 2.5e-4, 1: 5e-4, 3: 1e-3, 4: 1e-3, 10_000: 1e-3])
        assertRates(.constant(lr: 1e-3, warmup: 0), [0: 1e-3, 7: 1e-3])
    }

    func testCosineGoesFromPeakToFloorAtTotalAndStaysThere() {
        let schedule = LearningRateSchedule.cosine(maxLR: 1e-3, minLR: 1e-4, warmup: 10, total: 110)
        assertRates(schedule, [
            0: 1e-4, 9: 1e-3,            // warmup: lr·(step+1)/warmup
            10: 1e-3,                     // cosine starts at the peak
            60: 5.5e-4,                   // halfway: (max + min)/2
            85: 1e-4 + 0.5 * (1 + Float(cos(Double.pi * 0.75))) * 9e-4,
            110: 1e-4, 500: 1e-4,
        ])
    }

    func testWSDHoldsThePeakThenDecaysLinearly() {
        let schedule = LearningRateSchedule.wsd(maxLR: 1e-3, minLR: 0, warmup: 10, stable: 50, decay: 40)
        assertRates(schedule, [0: 1e-4, 9: 1e-3, 10: 1e-3, 59: 1e-3, 60: 1e-3, 70: 7.5e-4, 80: 5e-4, 100: 0, 1000: 0])
    }

    func testInfiniteCoolsDownToAConstantAndStaysWithoutAnneal() {
        let schedule = LearningRateSchedule.infinite(maxLR: 1e-3, constantLR: 2e-4, minLR: 1e-5, warmup: 10, cooldown: 100,
                                                     annealStart: nil, annealSteps: 0)
        assertRates(schedule, [0: 1e-4, 9: 1e-3, 10: 1e-3, 60: 6e-4, 110: 2e-4, 1_000_000: 2e-4])
    }

    func testInfiniteAnnealsLinearlyToTheFloorFromAnyStep() {
        let schedule = LearningRateSchedule.infinite(maxLR: 1e-3, constantLR: 2e-4, minLR: 1e-5, warmup: 10, cooldown: 100,
                                                     annealStart: 500, annealSteps: 100)
        assertRates(schedule, [499: 2e-4, 500: 2e-4, 550: 1.05e-4, 600: 1e-5, 10_000: 1e-5])
    }

    func testInfiniteAnnealCanBeCosine() {
        let schedule = LearningRateSchedule.infinite(maxLR: 1e-3, constantLR: 2e-4, minLR: 0, warmup: 0, cooldown: 0,
                                                     annealStart: 100, annealSteps: 100, annealShape: .cosine)
        assertRates(schedule, [99: 2e-4, 100: 2e-4, 150: 1e-4, 200: 0])
    }

    func testAnnealStartedDuringTheCooldownLeavesFromTheCurrentRate() {
        let schedule = LearningRateSchedule.infinite(maxLR: 1e-3, constantLR: 2e-4, minLR: 0, warmup: 0, cooldown: 100,
                                                     annealStart: 50, annealSteps: 10)
        XCTAssertEqual(schedule.learningRate(at: 50), 6e-4, accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(at: 55), 3e-4, accuracy: 1e-9)
    }

    /// Rewarming for continual pre-training is a fresh schedule: its warmup starts again from step 0.
    func testRewarmingIsANewScheduleWithItsOwnWarmup() {
        let first = LearningRateSchedule.cosine(maxLR: 1e-3, minLR: 1e-4, warmup: 10, total: 100)
        let rewarm = LearningRateSchedule.cosine(maxLR: 5e-4, minLR: 5e-5, warmup: 20, total: 100)
        XCTAssertEqual(first.learningRate(at: 100), 1e-4, accuracy: 1e-9)
        XCTAssertEqual(rewarm.learningRate(at: 0), 2.5e-5, accuracy: 1e-9)
        XCTAssertEqual(rewarm.learningRate(at: 19), 5e-4, accuracy: 1e-9)
    }

    func testSchedulesRoundTripThroughJSON() throws {
        let schedules: [LearningRateSchedule] = [
            .constant(lr: 1e-3, warmup: 5), .cosine(maxLR: 1e-3, minLR: 0, warmup: 1, total: 9),
            .wsd(maxLR: 1, minLR: 0.1, warmup: 1, stable: 2, decay: 3),
            .infinite(maxLR: 1, constantLR: 0.5, minLR: 0, warmup: 1, cooldown: 2, annealStart: 7, annealSteps: 3,
                      annealShape: .cosine),
        ]
        for schedule in schedules {
            let decoded = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(schedule))
            XCTAssertEqual(decoded, schedule)
        }
    }
}
