import Foundation

/// Small JSON helpers shared by the bundle and message code.
enum JSONText {
    /// A JSON string literal for `value`, escaped as RFC 8259 requires.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func encodeStringArray(_ values: [String]) -> [UInt8] {
        Array(("[" + values.map(quoted).joined(separator: ",") + "]").utf8)
    }

    static func decodeStringArray(_ bytes: [UInt8]) -> [String]? {
        try? JSONDecoder().decode([String].self, from: Data(bytes))
    }
}
