/// A message could not be read or written: not JSON, the wrong schema, a missing or invalid field,
/// an unsupported content type. `field` names the offending field (a JSON path such as
/// `modules[0].p50Ms`, or a bundle metadata key such as `s2m3.request-id`) when there is one.
public struct MessageError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The payload is not JSON, or not a JSON object.
        public static let notJSON = Code("notJSON")
        /// The payload's `schema` names another message type.
        public static let wrongSchema = Code("wrongSchema")
        /// The payload's `schema` is this message type in a version this build does not read.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// A required field is absent.
        public static let missingField = Code("missingField")
        /// A field has the wrong type or a value outside its rules.
        public static let invalidField = Code("invalidField")
        /// The MQTT content type (or the sniffed payload) is not one the topic accepts.
        public static let unsupportedContentType = Code("unsupportedContentType")
        /// The payload exceeds the configured size limit.
        public static let payloadTooLarge = Code("payloadTooLarge")
        /// A bundle payload failed ``TensorBundle`` validation.
        public static let invalidBundle = Code("invalidBundle")
    }

    public let code: Code
    /// The offending field, if the problem is one field.
    public let field: String?
    /// The schema id being read or written, when known.
    public let schema: String?
    public let message: String

    public init(_ code: Code, field: String? = nil, schema: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.schema = schema
        self.message = message
    }

    /// The same error, attributed to `schema` unless it already names one.
    func within(schema: String) -> MessageError {
        self.schema == nil ? MessageError(code, field: field, schema: schema, message) : self
    }

    public var description: String {
        var out = schema.map { "\($0): " } ?? ""
        if let field { out += "field '\(field)': " }
        return out + message + " [\(code)]"
    }
}
