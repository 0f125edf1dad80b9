import TextData
import XCTest

final class ByteLevelAlphabetTests: XCTestCase {
    func testPrintableBytesStandForThemselvesAndOthersMoveAbove255() {
        XCTAssertEqual(ByteLevelAlphabet.encode(Array("Az~".utf8)), "Az~")
        XCTAssertEqual(ByteLevelAlphabet.encode([0x20]), "Ġ")  // U+0120, GPT-2's space
        XCTAssertEqual(ByteLevelAlphabet.encode([0x0A]), "Ċ")  // U+010A, newline
        XCTAssertEqual(ByteLevelAlphabet.encode([0x00]), "\u{100}")
        XCTAssertEqual(ByteLevelAlphabet.encode([0xAD]), "\u{143}")  // the last of the 68 moved bytes
    }

    func testMapIsABijectionOnAllBytes() {
        let all = (0..<256).map { UInt8($0) }
        let encoded = ByteLevelAlphabet.encode(all)
        XCTAssertEqual(Set(encoded.unicodeScalars).count, 256)
        XCTAssertEqual(ByteLevelAlphabet.decode(encoded), all)
        XCTAssertNil(ByteLevelAlphabet.decode("€"))
    }

    func testScalarOrderStartsWithExclamationAndEndsWithMovedBytes() {
        let order = ByteLevelAlphabet.bytesInScalarOrder
        XCTAssertEqual(order.first, UInt8(ascii: "!"))
        XCTAssertEqual(order[94], 0xA1)  // after the 94 of '!'...'~'
        XCTAssertEqual(order.last, 0xAD)
    }
}
