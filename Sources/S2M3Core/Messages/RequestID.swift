/// Request ids: 1–128 characters of ASCII letters, digits, `-`, `_`, `.`, `:` (a UUID fits).
/// One travels in every message of a request (bundle metadata, MQTT 5 correlation data and the
/// `s2m3-request-id` user property).
public enum RequestID {
    public static func isValid(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            Topics.isIdentifierByte(byte) || byte == UInt8(ascii: ":")
        }
    }

    /// The request id a request's MQTT 5 correlation data stands for: the data itself when it is
    /// a valid id in UTF-8, else its lowercase hex (at most 64 bytes of data), else nil.
    public static func from(correlationData data: [UInt8]) -> String? {
        if let text = String(validating: data, as: UTF8.self), isValid(text) { return text }
        guard (1...64).contains(data.count) else { return nil }
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        for byte in data { hex += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: hex, as: UTF8.self)
    }
}
