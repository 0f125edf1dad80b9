import XCTest
@testable import Curation

final class CurationDocumentTests: XCTestCase {
    func testDocumentKeepsTextAndMeta() {
        let document = CurationDocument(text: "a", meta: ["source": .string("x")])
        XCTAssertEqual(document.meta["source"], .string("x"))
    }
}
