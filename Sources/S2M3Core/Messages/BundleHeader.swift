/// A bundle's JSON header as read, before its entries are checked against the data section.
///
/// Read by hand rather than with `JSONDecoder`: every message on the data plane has one, and the
/// decoder's generic containers cost about 0.1 ms a header (docs/benchmarks.md, "Where one
/// request's time goes"). The reader takes RFC 8259 JSON and is stricter than the safetensors
/// format needs nowhere else: a tensor or metadata entry given twice is refused (JSON leaves
/// duplicate names undefined), and values under keys it does not know are skipped to a nesting
/// depth of ``maxDepth``.
struct BundleHeader {
    struct Entry {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]
    }

    /// Nesting allowed in a value the reader skips (a header of 1 MiB of `[` must not recurse).
    static let maxDepth = 64

    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: Entry)] = []

    /// Reads `bytes[range]` as a header object.
    static func parse(_ bytes: [UInt8], _ range: Range<Int>) throws(TensorBundleError) -> BundleHeader {
        var reader = Reader(bytes: bytes, start: range.lowerBound, index: range.lowerBound, end: range.upperBound)
        return try reader.header()
    }
}

/// A cursor over the header's bytes; every read is bounds-checked against `end`.
private struct Reader {
    let bytes: [UInt8]
    /// Where the header starts in `bytes` (errors count header bytes from it).
    let start: Int
    var index: Int
    let end: Int

    /// Why the text is not the header: `headerNotJSON`, naming the byte offset in the header.
    func syntax(_ expected: String) -> TensorBundleError {
        let found = index < end ? "'\(Self.show(bytes[index]))'" : "the end of the header"
        return TensorBundleError(.headerNotJSON, "header is not a JSON object of tensors: expected \(expected) at header byte \(index - start), found \(found)")
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

    mutating func expect(_ byte: UInt8, _ what: String) throws(TensorBundleError) {
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
    mutating func object(_ member: (inout Reader, String) throws(TensorBundleError) -> Void) throws(TensorBundleError) {
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

    mutating func header() throws(TensorBundleError) -> BundleHeader {
        var header = BundleHeader()
        var names = Set<String>()
        var sawMetadata = false
        try object { (reader: inout Reader, name: String) throws(TensorBundleError) in
            if name == "__metadata__" {
                guard !sawMetadata else { throw TensorBundleError(.invalidMetadata, "__metadata__ is given twice") }
                sawMetadata = true
                header.metadata = try reader.metadata()
                return
            }
            guard !name.isEmpty else { throw TensorBundleError(.invalidTensorName, "the header has a tensor with an empty name") }
            guard names.insert(name).inserted else { throw TensorBundleError(.invalidTensorName, "tensor '\(name)' is given twice") }
            header.entries.append((name, try reader.entry(name)))
        }
        skipSpace()
        guard index == end else { throw syntax("nothing after the header object") }
        return header
    }

    mutating func metadata() throws(TensorBundleError) -> [String: String] {
        var metadata: [String: String] = [:]
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw TensorBundleError(.invalidMetadata, "__metadata__ must be an object of string values") }
        try object { (reader: inout Reader, key: String) throws(TensorBundleError) in
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "\"") else {
                throw TensorBundleError(.invalidMetadata, "__metadata__ must be an object of string values; '\(key)' is not a string")
            }
            guard metadata.updateValue(try reader.string(), forKey: key) == nil else {
                throw TensorBundleError(.invalidMetadata, "__metadata__ gives '\(key)' twice")
            }
        }
        return metadata
    }

    mutating func entry(_ name: String) throws(TensorBundleError) -> BundleHeader.Entry {
        func invalid(_ why: String) -> TensorBundleError {
            TensorBundleError(.invalidTensorEntry, "tensor '\(name)' needs dtype (string), shape (whole numbers) and data_offsets (two whole numbers): \(why)")
        }
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw invalid("its entry is not an object") }
        try object { (reader: inout Reader, key: String) throws(TensorBundleError) in
            reader.skipSpace()
            switch key {
            case "dtype":
                guard dtype == nil else { throw invalid("dtype is given twice") }
                guard reader.peek == UInt8(ascii: "\"") else { throw invalid("dtype is not a string") }
                dtype = try reader.string()
            case "shape", "data_offsets":
                guard (key == "shape" ? shape : offsets) == nil else { throw invalid("\(key) is given twice") }
                let numbers = try reader.wholeNumbers(key, invalid)
                if key == "shape" { shape = numbers } else { offsets = numbers }
            default:
                try reader.skipValue(depth: 0)
            }
        }
        guard let dtype else { throw invalid("dtype is missing") }
        guard let shape else { throw invalid("shape is missing") }
        guard let offsets else { throw invalid("data_offsets is missing") }
        return BundleHeader.Entry(dtype: dtype, shape: shape, offsets: offsets)
    }

    /// `[n, …]` of integers that fit an `Int`; a fraction, an exponent or another type is `invalid`.
    mutating func wholeNumbers(_ key: String, _ invalid: (String) -> TensorBundleError) throws(TensorBundleError) -> [Int] {
        guard peek == UInt8(ascii: "[") else { throw invalid("\(key) is not an array") }
        index += 1
        var numbers: [Int] = []
        if take(UInt8(ascii: "]")) { return numbers }
        repeat {
            skipSpace()
            let start = index
            guard let number = try wholeNumber() else {
                index = start
                try skipValue(depth: 0)  // a syntax error is reported as one
                throw invalid("\(key) holds '\(String(decoding: bytes[start..<index], as: UTF8.self))', not a whole number")
            }
            numbers.append(number)
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"), "',' or ']'")
        return numbers
    }

    /// A JSON integer without fraction or exponent that fits an `Int`; nil for any other value.
    mutating func wholeNumber() throws(TensorBundleError) -> Int? {
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
    mutating func string() throws(TensorBundleError) -> String {
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

    func utf8(_ run: ArraySlice<UInt8>) throws(TensorBundleError) -> String {
        guard let text = String(validating: run, as: UTF8.self) else {
            throw TensorBundleError(.headerNotJSON, "header is not UTF-8 (a string at header byte \(run.startIndex - start))")
        }
        return text
    }

    /// The scalar after a backslash (`\uD83D\uDE00` pairs included).
    mutating func escape() throws(TensorBundleError) -> Unicode.Scalar {
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

    mutating func hex4() throws(TensorBundleError) -> UInt32 {
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
    mutating func skipValue(depth: Int) throws(TensorBundleError) {
        skipSpace()
        guard let byte = peek else { throw syntax("a value") }
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < BundleHeader.maxDepth else { throw syntax("at most \(BundleHeader.maxDepth) levels of nesting") }
            if byte == UInt8(ascii: "{") {
                try object { (reader: inout Reader, _: String) throws(TensorBundleError) in try reader.skipValue(depth: depth + 1) }
            } else {
                index += 1
                if take(UInt8(ascii: "]")) { return }
                repeat { try skipValue(depth: depth + 1) } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"), "',' or ']'")
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    mutating func literal(_ word: StaticString) throws(TensorBundleError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= end, bytes[index..<(index + count)].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count)) else {
            throw syntax("'\(word)'")
        }
        index += count
    }

    /// `-? int frac? exp?` as RFC 8259 has it.
    mutating func number() throws(TensorBundleError) {
        if peek == UInt8(ascii: "-") { index += 1 }
        func digits(_ reader: inout Reader) -> Int {
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
