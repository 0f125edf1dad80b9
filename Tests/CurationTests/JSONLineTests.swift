import Curation
import Foundation
import XCTest

/// The fast JSON parser agrees with JSONSerialization, and the writer's output reads back to the same value.
final class JSONLineTests: XCTestCase {
    private func fast(_ text: String) -> MetaValue? { Array(text.utf8).withUnsafeBufferPointer { JSONValueParser.fast($0) } }
    private func reference(_ text: String) -> MetaValue? { Array(text.utf8).withUnsafeBufferPointer { JSONValueParser.reference($0) } }

    func testTheFastParserAgreesWithJSONSerialization() {
        let lines = [
            #"{"text": "plain", "meta": {"n": 1623, "x": -0.25, "big": 1.5e300, "small": 2E-7, "t": true, "f": false, "z": null}}"#,
            #"{"text": "esc \"q\" \\ \/ \b\f\n\r\t \u00e9 \u4e2d \ud83d\ude00 end"}"#,
            #"{"text":"caf\u00E9 café 中文 😀","meta":{"list":[1,"two",[3,{"four":4}],{}],"empty":[]}}"#,
            " \t{\"text\" : \"spaced\" , \"meta\" : { } } \r",
            #"{"text": "dup", "text": "last wins"}"#,
            #"{"text": "x", "id": 12345678901234}"#,
            #"{"text": "x", "n": -0, "m": 0.5e1, "k": 100000000000000000000}"#,
            #"[1, 2, 3]"#, #""just a string""#, "123", "true",
        ]
        for line in lines {
            XCTAssertNotNil(fast(line), line)
            XCTAssertEqual(fast(line), reference(line), line)
        }
    }

    func testBothRefuseInvalidJSON() {
        let invalid = [#"{"text": "unterminated}"#, #"{"text": 'single'}"#, "{text: 1}", #"{"a": 01}"#, #"{"a": 1.}"#,
                       #"{"a": .5}"#, #"{"a": +1}"#, "{\"a\": \"tab\there\"}",
                       #"{"a": "\x"}"#, #"{"a": "\ud800"}"#, #"{"a": "\u12"}"#, #"{"a": tru}"#, #"{"a": 1} x"#, ""]
        for line in invalid {
            XCTAssertNil(fast(line), line)
            XCTAssertNil(Array(line.utf8).withUnsafeBufferPointer { JSONValueParser.parse($0) }, line)
        }
        XCTAssertNil(Array<UInt8>([0x22, 0xC3, 0x28, 0x22]).withUnsafeBufferPointer { JSONValueParser.parse($0) }, "invalid UTF-8")
    }

    func testWhatOnlyJSONSerializationAcceptsIsReadAsItReadsIt() {
        // Trailing commas are not JSON; JSONSerialization tolerates them, and the fallback gives its reading.
        for line in [#"{"text": "a", "list": [1,]}"#, #"{"text": "a",}"#] {
            XCTAssertNil(fast(line), line)
            XCTAssertNotNil(reference(line), line)
            XCTAssertEqual(Array(line.utf8).withUnsafeBufferPointer { JSONValueParser.parse($0) }, reference(line), line)
        }
    }

    func testDeepNestingGoesToTheReferenceParser() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        XCTAssertNil(fast(deep))
        XCTAssertEqual(Array(deep.utf8).withUnsafeBufferPointer { JSONValueParser.parse($0) }, reference(deep))
    }

    func testWrittenJSONReadsBackAndHasSortedKeys() {
        let value = MetaValue.object([
            "zeta": .string("quote \" backslash \\ newline \n control \u{01} é 😀"),
            "alpha": .array([.number(1623), .number(0.1), .number(-2.5e-8), .bool(true), .null]),
            "mid": .object(["b": .number(1), "a": .number(2)]),
        ])
        let text = value.jsonText
        XCTAssertTrue(text.hasPrefix(#"{"alpha":[1623,0.1,-2.5e-08,true,null],"mid":{"a":2,"b":1},"zeta":"#), text)
        XCTAssertTrue(text.contains(#"\u0001"#), text)
        XCTAssertEqual(fast(text), value)
        XCTAssertEqual(reference(text), value)
    }
}
