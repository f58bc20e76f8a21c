import Foundation

/// Reads a memory amount as the command line gives it: plain bytes (`600000000`) or a number with
/// a decimal (`kB`, `MB`, `GB`) or binary (`KiB`, `MiB`, `GiB`) unit, e.g. `600MB`, `1.5GiB`.
public enum MemoryAmount {
    private static let units: [(suffix: String, factor: Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("b", 1),
    ]

    /// The amount in bytes, or an ``DeviceAgentError/Code/invalidSetting`` error naming the text.
    public static func parse(_ text: String) throws(DeviceAgentError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(trimmed)
        var factor = 1.0
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        let digits = number.trimmingCharacters(in: .whitespaces)
        guard let value = Double(digits), value.isFinite, value > 0,
            digits.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw DeviceAgentError(
                .invalidSetting, "memory amount '\(text)' is not a positive number of bytes or e.g. 600MB, 1.5GiB")
        }
        let bytes = (value * factor).rounded()
        guard bytes >= 1, bytes < Double(Int.max) else {
            throw DeviceAgentError(.invalidSetting, "memory amount '\(text)' is out of range")
        }
        return Int(bytes)
    }

    /// `bytes` in MB with one decimal, for messages.
    public static func text(_ bytes: Int) -> String {
        let megabytes = (Double(bytes) / 1e5).rounded() / 10
        return "\(megabytes) MB"
    }
}
