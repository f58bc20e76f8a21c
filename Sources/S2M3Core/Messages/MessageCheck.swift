/// Validation rules shared by the message types; each failure names the field.
enum MessageCheck {
    static func identifier(_ value: String, _ field: String) throws(MessageError) {
        guard Topics.isValidIdentifier(value) else {
            throw MessageError(
                .invalidField, field: field,
                "'\(LimitsConfiguration.echo(value))' is not an identifier (1–128 characters: letters, digits, '-', '_', '.')")
        }
    }

    static func requestID(_ value: String, _ field: String) throws(MessageError) {
        guard RequestID.isValid(value) else {
            throw MessageError(
                .invalidField, field: field,
                "'\(LimitsConfiguration.echo(value))' is not a request id (1–128 characters: letters, digits, '-', '_', '.', ':')")
        }
    }

    static func nonEmpty(_ value: String, _ field: String, maxLength: Int = 4096) throws(MessageError) {
        guard !value.isEmpty, value.utf8.count <= maxLength else {
            throw MessageError(.invalidField, field: field, value.isEmpty ? "must not be empty" : "is longer than \(maxLength) bytes")
        }
    }

    static func atLeast(_ value: Int, _ minimum: Int, _ field: String) throws(MessageError) {
        guard value >= minimum else { throw MessageError(.invalidField, field: field, "is \(value); must be at least \(minimum)") }
    }

    static func nonNegative(_ value: Double, _ field: String) throws(MessageError) {
        guard value.isFinite, value >= 0 else { throw MessageError(.invalidField, field: field, "is \(value); must be a finite number ≥ 0") }
    }

    static func positive(_ value: Double, _ field: String) throws(MessageError) {
        guard value.isFinite, value > 0 else { throw MessageError(.invalidField, field: field, "is \(value); must be a finite number > 0") }
    }

    static func finite(_ value: Double, _ field: String) throws(MessageError) {
        guard value.isFinite else { throw MessageError(.invalidField, field: field, "is \(value); must be finite") }
    }

    /// Every entry an identifier, none twice.
    static func identifierList(_ values: [String], _ field: String) throws(MessageError) {
        var seen = Set<String>()
        for (index, value) in values.enumerated() {
            try identifier(value, "\(field)[\(index)]")
            guard seen.insert(value).inserted else {
                throw MessageError(.invalidField, field: "\(field)[\(index)]", "'\(LimitsConfiguration.echo(value))' is listed twice")
            }
        }
    }
}

extension MessageCheck {
    /// Whether `value` is a W3C traceparent: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    static func isTraceparent(_ value: String) -> Bool {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        let hex = value.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
        return parts.map(\.count) == [2, 32, 16, 2] && hex && parts[0] != "ff"
    }

    static func traceparent(_ value: String, _ field: String) throws(MessageError) {
        guard isTraceparent(value) else {
            throw MessageError(.invalidField, field: field, "'\(LimitsConfiguration.echo(value))' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)")
        }
    }
}
