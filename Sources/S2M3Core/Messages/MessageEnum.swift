/// A string enumeration in a message. Decoding an unknown value fails with a message listing the
/// allowed ones (instead of Foundation's generic "cannot initialize" text).
public protocol MessageEnum: RawRepresentable, CaseIterable, Codable, Sendable, Hashable where RawValue == String {}

extension MessageEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(raw)' is not one of \(Self.allowedValues)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// The allowed values, comma-separated, for error messages.
    public static var allowedValues: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
