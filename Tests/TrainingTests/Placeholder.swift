import XCTest

/// Placeholder until the module's tests land.
final class TrainingTestsPlaceholder: XCTestCase {}
