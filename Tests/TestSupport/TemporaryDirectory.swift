import Foundation
import XCTest

extension XCTestCase {
    /// A fresh, empty directory under the system temporary directory, removed when the test ends (pass or fail).
    /// Its name carries the test class, `name` (the calling test by default) and a random suffix, so that
    /// leftovers of a crashed run are recognisable and parallel runs never share one.
    public func makeTemporaryDirectory(_ name: String = #function) throws -> URL {
        let label = "\(type(of: self))-\(name.filter { $0.isLetter || $0.isNumber || $0 == "-" })"
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
