/// What a ``JSONReader`` throws: each reader of a JSON text reports, in its own error type, where
/// the text stopped being what it reads.
protocol JSONReadFailure: Error {
    /// Not JSON (or not the JSON read): `expected` was due at byte `offset` of the text; `found`
    /// shows the byte there, nil at the end of the text.
    static func syntax(expected: String, offset: Int, found: String?) -> Self
    /// The string starting at byte `offset` of the text is not UTF-8.
    static func notUTF8(offset: Int) -> Self
}

/// A cursor over JSON text (RFC 8259) in part of a byte array; every read is bounds-checked
/// against `end`. The readers of particular texts (a bundle's header, an invocation's chain, a
/// list of strings) extend it, each with its own error type.
///
/// Written by hand rather than using `JSONDecoder`: every message on the data plane carries such
/// texts, and the decoder's generic containers cost about 0.1 ms a header (docs/benchmarks.md,
/// "Where one request's time goes"). Values a reader does not know are skipped, to a nesting
/// depth of ``maxDepth`` (1 MiB of `[` must not recurse).
struct JSONReader<Failure: JSONReadFailure> {
    let bytes: [UInt8]
    /// Where the text starts in `bytes` (errors count bytes from it).
    let start: Int
    var index: Int
    let end: Int

    static var maxDepth: Int { 64 }

    init(_ bytes: [UInt8], _ range: Range<Int>) {
        self.bytes = bytes
        start = range.lowerBound
        index = range.lowerBound
        end = range.upperBound
    }

    /// The text is not what is read: `expected` was due here.
    func syntax(_ expected: String) -> Failure {
        Failure.syntax(expected: expected, offset: index - start, found: index < end ? "'\(Self.show(bytes[index]))'" : nil)
    }

    static func show(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "0x" + String(byte, radix: 16, uppercase: true)
    }

    var peek: UInt8? { index < end ? bytes[index] : nil }

    mutating func skipSpace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        skipSpace()
        guard peek == byte else { throw syntax(what) }
        index += 1
    }

    /// True (and consumed) when the next non-space byte is `byte`.
    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// `{ member, … }`, calling `member` with each name (the reader is then at its value).
    mutating func object(_ member: (inout JSONReader, String) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "{"), "'{'")
        if take(UInt8(ascii: "}")) { return }
        repeat {
            skipSpace()
            let name = try string()
            try expect(UInt8(ascii: ":"), "':' after a name")
            try member(&self, name)
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"), "',' or '}'")
    }

    /// `[ element, … ]`, calling `element` at each (the reader is then at its value).
    mutating func array(_ element: (inout JSONReader) throws(Failure) -> Void) throws(Failure) {
        try expect(UInt8(ascii: "["), "'['")
        if take(UInt8(ascii: "]")) { return }
        repeat { try element(&self) } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"), "',' or ']'")
    }

    /// Only space is left.
    mutating func expectEnd(_ what: String) throws(Failure) {
        skipSpace()
        guard index == end else { throw syntax("nothing after \(what)") }
    }

    /// `true` or `false`.
    mutating func bool() throws(Failure) -> Bool {
        skipSpace()
        switch peek {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default: throw syntax("true or false")
        }
    }

    /// `[n, …]` of integers that fit an `Int`; a fraction, an exponent or another type is `invalid`.
    mutating func wholeNumbers(_ key: String, _ invalid: (String) -> Failure) throws(Failure) -> [Int] {
        guard peek == UInt8(ascii: "[") else { throw invalid("\(key) is not an array") }
        var numbers: [Int] = []
        try array { (reader: inout JSONReader) throws(Failure) in
            reader.skipSpace()
            let start = reader.index
            guard let number = try reader.wholeNumber() else {
                reader.index = start
                try reader.skipValue(depth: 0)  // a syntax error is reported as one
                throw invalid("\(key) holds '\(String(decoding: reader.bytes[start..<reader.index], as: UTF8.self))', not a whole number")
            }
            numbers.append(number)
        }
        return numbers
    }

    /// A JSON integer without fraction or exponent that fits an `Int`; nil for any other value.
    mutating func wholeNumber() throws(Failure) -> Int? {
        let negative = peek == UInt8(ascii: "-")
        if negative { index += 1 }
        guard let first = peek, (0x30...0x39).contains(first) else { return nil }
        var value = 0
        var digits = 0
        while let byte = peek, (0x30...0x39).contains(byte) {
            let digit = Int(byte - 0x30)
            let (times, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            if overflowA || overflowB { return nil }
            value = next
            digits += 1
            index += 1
        }
        if first == 0x30, digits > 1 { throw syntax("no leading zero in a number") }
        if let byte = peek, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return nil }
        return value
    }

    /// A string literal, its escapes resolved; the bytes must be UTF-8.
    mutating func string() throws(Failure) -> String {
        guard peek == UInt8(ascii: "\"") else { throw syntax("a string") }
        index += 1
        let start = index
        while index < end, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 { index += 1 }
        if peek == UInt8(ascii: "\"") {  // no escape: the common case
            defer { index += 1 }
            return try utf8(bytes[start..<index])
        }
        var text = try utf8(bytes[start..<index])
        while true {
            guard let byte = peek else { throw syntax("'\"' closing a string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return text
            case UInt8(ascii: "\\"):
                index += 1
                text.unicodeScalars.append(try escape())
            case ..<0x20:
                throw syntax("no control character in a string")
            default:
                let run = index
                while index < end, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 { index += 1 }
                text += try utf8(bytes[run..<index])
            }
        }
    }

    func utf8(_ run: ArraySlice<UInt8>) throws(Failure) -> String {
        guard let text = String(validating: run, as: UTF8.self) else { throw Failure.notUTF8(offset: run.startIndex - start) }
        return text
    }

    /// The scalar after a backslash (`\uD83D\uDE00` pairs included).
    mutating func escape() throws(Failure) -> Unicode.Scalar {
        guard let byte = peek else { throw syntax("an escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(byte)
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            if (0xD800..<0xDC00).contains(unit) {
                guard peek == UInt8(ascii: "\\"), index + 1 < end, bytes[index + 1] == UInt8(ascii: "u") else { throw syntax("a low surrogate after \\u\(String(unit, radix: 16))") }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw syntax("a low surrogate") }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(unit) else { throw syntax("no lone low surrogate") }
            return scalar
        default:
            index -= 1
            throw syntax("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
    }

    mutating func hex4() throws(Failure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek, let digit = Self.hexDigit(byte) else { throw syntax("four hex digits after \\u") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }

    /// Any JSON value, checked and dropped.
    mutating func skipValue(depth: Int) throws(Failure) {
        skipSpace()
        guard let byte = peek else { throw syntax("a value") }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw syntax("at most \(Self.maxDepth) levels of nesting") }
            if byte == UInt8(ascii: "{") {
                try object { (reader: inout JSONReader, _: String) throws(Failure) in try reader.skipValue(depth: depth + 1) }
            } else {
                try array { (reader: inout JSONReader) throws(Failure) in try reader.skipValue(depth: depth + 1) }
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= end, bytes[index..<(index + count)].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count)) else {
            throw syntax("'\(word)'")
        }
        index += count
    }

    /// `-? int frac? exp?` as RFC 8259 has it.
    mutating func number() throws(Failure) {
        if peek == UInt8(ascii: "-") { index += 1 }
        func digits(_ reader: inout JSONReader) -> Int {
            let start = reader.index
            while let byte = reader.peek, (0x30...0x39).contains(byte) { reader.index += 1 }
            return reader.index - start
        }
        let first = peek
        let whole = digits(&self)
        guard whole > 0 else { throw syntax("a value") }
        if first == 0x30, whole > 1 { throw syntax("no leading zero in a number") }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw syntax("digits after '.'") }
        }
        if let byte = peek, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            index += 1
            if let sign = peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw syntax("digits in an exponent") }
        }
    }
}

/// A ``JSONReadFailure`` that only says what was wrong; its callers put it in their own error.
struct JSONSyntaxError: JSONReadFailure {
    var message: String

    init(_ message: String) { self.message = message }

    static func syntax(expected: String, offset: Int, found: String?) -> JSONSyntaxError {
        JSONSyntaxError("expected \(expected) at byte \(offset), found \(found ?? "the end")")
    }

    static func notUTF8(offset: Int) -> JSONSyntaxError { JSONSyntaxError("the string at byte \(offset) is not UTF-8") }
}

extension JSONReader<JSONSyntaxError> {
    /// The whole text as a JSON array of strings.
    mutating func stringArray() throws(JSONSyntaxError) -> [String] {
        var strings: [String] = []
        try array { (reader: inout JSONReader) throws(JSONSyntaxError) in
            reader.skipSpace()
            strings.append(try reader.string())
        }
        try expectEnd("the array")
        return strings
    }
}
