import Foundation

/// A problem with a composition or a merge that a user can cause, as one line.
public struct CompositionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) {
        self.description = description.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// A linear combination of named models, as `--compose` writes it: `large_base + 1.0*(small_tuned - small_base)`.
///
/// Grammar: `expr := ['+'|'-'] term (('+'|'-') term)*`, `term := [number '*'] primary ['*' number]`,
/// `primary := name | '(' expr ')'`, names `[A-Za-z_][A-Za-z0-9_]*`. Products distribute, so the expression is the
/// weight of each name (in order of first appearance); a name whose weights cancel is left out. A bare number would be
/// a constant added to every log-probability, which normalisation removes: it is refused.
public struct ComposeExpression: Equatable {
    public var terms: [(name: String, weight: Double)]

    public static func == (a: ComposeExpression, b: ComposeExpression) -> Bool {
        a.terms.map(\.name) == b.terms.map(\.name) && a.terms.map(\.weight) == b.terms.map(\.weight)
    }

    public init(terms: [(name: String, weight: Double)]) { self.terms = terms }

    public init(parsing text: String) throws {
        var parser = Parser(text: text)
        let combination = try parser.expression()
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("expected + or - or the end") }
        var order: [String] = []
        var weights: [String: Double] = [:]
        for (name, weight) in combination {
            if weights[name] == nil { order.append(name) }
            weights[name, default: 0] += weight
        }
        terms = order.compactMap { weights[$0] == 0 ? nil : ($0, weights[$0]!) }
        guard !terms.isEmpty else { throw CompositionError("--compose \"\(text)\": every model's weight cancels; nothing is left") }
    }

    /// Written back: `1*large_base + 1*small_tuned - 1*small_base`.
    public var text: String {
        terms.enumerated().map { index, term in
            let magnitude = String(format: "%g", abs(term.weight))
            let sign = term.weight < 0 ? (index == 0 ? "-" : " - ") : (index == 0 ? "" : " + ")
            return sign + magnitude + "*" + term.name
        }.joined()
    }

    private struct Parser {
        let text: String
        let scalars: [Unicode.Scalar]
        var position = 0

        init(text: String) { (self.text, scalars) = (text, Array(text.unicodeScalars)) }

        var atEnd: Bool { position >= scalars.count }
        var next: Unicode.Scalar? { atEnd ? nil : scalars[position] }

        func error(_ expected: String) -> CompositionError {
            let found = next.map { "\"\($0)\"" } ?? "the end"
            return CompositionError("--compose \"\(text)\": \(expected), found \(found) at character \(position + 1)")
        }

        mutating func skipSpaces() { while let c = next, c == " " || c == "\t" { position += 1 } }

        mutating func expression() throws -> [(String, Double)] {
            skipSpaces()
            var sign = 1.0
            if next == "+" || next == "-" { sign = next == "-" ? -1 : 1; position += 1 }
            var result = try term().map { ($0.0, sign * $0.1) }
            while true {
                skipSpaces()
                guard let c = next, c == "+" || c == "-" else { return result }
                position += 1
                let factor = c == "-" ? -1.0 : 1.0
                result += try term().map { ($0.0, factor * $0.1) }
            }
        }

        mutating func term() throws -> [(String, Double)] {
            skipSpaces()
            var scale = 1.0
            if let number = try number() {
                skipSpaces()
                guard next == "*" else { throw error("a number must multiply a model: expected *") }
                position += 1
                scale = number
            }
            let combination = try primary()
            skipSpaces()
            if next == "*" {
                position += 1
                skipSpaces()
                guard let number = try number() else { throw error("expected a number after *") }
                scale *= number
            }
            return combination.map { ($0.0, scale * $0.1) }
        }

        mutating func primary() throws -> [(String, Double)] {
            skipSpaces()
            if next == "(" {
                position += 1
                let inner = try expression()
                skipSpaces()
                guard next == ")" else { throw error("expected )") }
                position += 1
                return inner
            }
            guard let c = next, c == "_" || c.properties.isAlphabetic && c.isASCII else {
                throw error("expected a model name or (")
            }
            var name = ""
            while let c = next, c == "_" || (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c))) {
                name.unicodeScalars.append(c)
                position += 1
            }
            return [(name, 1)]
        }

        /// A decimal number (`1`, `0.5`, `.5`, `1e-3`), or nil when none starts here.
        mutating func number() throws -> Double? {
            let start = position
            var digits = ""
            while let c = next, ("0"..."9").contains(c) || c == "." { digits.unicodeScalars.append(c); position += 1 }
            guard !digits.isEmpty else { return nil }
            if let c = next, c == "e" || c == "E" {
                digits.unicodeScalars.append(c)
                position += 1
                if let sign = next, sign == "+" || sign == "-" { digits.unicodeScalars.append(sign); position += 1 }
                while let c = next, ("0"..."9").contains(c) { digits.unicodeScalars.append(c); position += 1 }
            }
            guard let value = Double(digits), value.isFinite else {
                position = start
                throw error("expected a number")
            }
            return value
        }
    }
}
