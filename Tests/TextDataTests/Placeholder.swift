import XCTest

/// Placeholder until the module's tests land.
final class TextDataTestsPlaceholder: XCTestCase {}
