/// Small JSON helpers shared by the bundle and message code.
enum JSONText {
    /// A JSON string literal for `value`, escaped as ``JSONWriter`` (and `JSONEncoder`) escape it.
    static func quoted(_ value: String) -> String {
        var writer = JSONWriter(capacity: value.utf8.count + 2)
        writer.string(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    static func encodeStringArray(_ values: [String]) -> [UInt8] {
        var writer = JSONWriter()
        writer.strings(values)
        return writer.bytes
    }

    /// `bytes` as a JSON array of strings, or nil when they are not one.
    static func decodeStringArray(_ bytes: [UInt8]) -> [String]? {
        var reader = JSONReader<JSONSyntaxError>(bytes, bytes.indices)
        return try? reader.stringArray()
    }
}
