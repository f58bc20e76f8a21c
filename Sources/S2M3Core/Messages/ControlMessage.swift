import Foundation

/// A control-plane message: a JSON object whose `schema` field names its type and major version
/// (`"s2m3.device-state/1"`). Readers ignore fields they do not know, so fields may be added
/// within a version; removing or changing one makes a new version.
///
/// Encoding validates first, so an invalid message is never published; decoding checks the
/// schema, maps JSON errors to a ``MessageError`` naming the field, then validates.
public protocol ControlMessage: Codable, Sendable, Hashable {
    /// The schema id written in the `schema` field, e.g. `"s2m3.plan/1"`.
    static var schema: String { get }
    /// Checks the rules JSON types cannot express (identifiers, ranges, consistency).
    func validate() throws(MessageError)
    /// The MQTT 5 properties to publish the message with (topics.md lists them per topic).
    /// Results and errors add the request's correlation data with their own
    /// `properties(correlationData:traceparent:)`.
    func properties() -> MessageProperties
}

extension ControlMessage {
    public func properties() -> MessageProperties { MessageProperties(contentType: MediaType.json) }
}

/// A control message that writes its own JSON with a ``JSONWriter`` (the result, encoded on every
/// request's critical path). Its bytes must equal `JSONEncoder`'s (tests hold them to it).
public protocol JSONWritable {
    /// The whole object, `schema` included, keys in sorted order.
    func write(to writer: inout JSONWriter)
}

extension ControlMessage {
    /// The message as compact JSON with sorted keys (equal messages give equal bytes).
    public func jsonData(pretty: Bool = false) throws(MessageError) -> Data {
        pretty ? try encoded(pretty: true) : Data(try jsonBytes())
    }

    public func jsonBytes() throws(MessageError) -> [UInt8] {
        guard let writable = self as? any JSONWritable else { return [UInt8](try encoded(pretty: false)) }
        try validated()
        var writer = JSONWriter()
        writable.write(to: &writer)
        return writer.bytes
    }

    /// The message through `JSONEncoder` (what a ``JSONWritable`` must equal).
    func encoded(pretty: Bool) throws(MessageError) -> Data {
        try validated()
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(SchemaEnvelope(message: self))
        } catch {
            throw MessageError(.invalidField, schema: Self.schema, "cannot encode: \(error.shortDescription)")
        }
    }

    private func validated() throws(MessageError) {
        do {
            try validate()
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    /// Reads and validates a message of this type from JSON.
    public init(json: Data) throws(MessageError) {
        do {
            self = try MessageDecoding.decode(Self.self, from: json)
            try validate()
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    public init(json: [UInt8]) throws(MessageError) { try self.init(json: Data(json)) }
}

/// Writes `schema` into the same JSON object as the message's own fields.
private struct SchemaEnvelope<Message: ControlMessage>: Encodable {
    let message: Message
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(Message.schema, forKey: AnyCodingKey("schema"))
        try message.encode(to: encoder)
    }
}

/// Just the `schema` field, read before the full message.
private struct SchemaProbe: Decodable {
    let schema: String?
}

enum MessageDecoding {
    static func decode<Message: ControlMessage>(_ type: Message.Type, from json: Data) throws(MessageError) -> Message {
        let probe: SchemaProbe
        do {
            probe = try JSONDecoder().decode(SchemaProbe.self, from: json)
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.isEmpty {
            throw MessageError(.notJSON, "payload is JSON but not an object")
        } catch let DecodingError.typeMismatch(_, context) {
            throw MessageError(.invalidField, field: CodingPathText.join(context.codingPath), "must be a string such as \"\(Message.schema)\"")
        } catch {
            throw MessageError(.notJSON, "payload is not valid UTF-8 JSON (\(json.count) bytes)")
        }
        try checkSchema(probe.schema, expected: Message.schema)
        do {
            return try JSONDecoder().decode(Message.self, from: json)
        } catch let error as MessageError {
            throw error
        } catch let error as DecodingError {
            throw fieldError(error, json: json, type: Message.self)
        } catch {
            throw MessageError(.invalidField, "\(error)")
        }
    }

    static func checkSchema(_ found: String?, expected: String) throws(MessageError) {
        guard let found else {
            throw MessageError(.missingField, field: "schema", "every S2M3 message names its type here, e.g. \"\(expected)\"")
        }
        guard found != expected else { return }
        let family = { (id: String) in id.split(separator: "/", maxSplits: 1).first.map(String.init) ?? id }
        if family(found) == family(expected) {
            throw MessageError(.unsupportedVersion, field: "schema", "\"\(found)\" is not supported; this build reads \"\(expected)\"")
        }
        throw MessageError(.wrongSchema, field: "schema", "payload is \"\(found)\", expected \"\(expected)\"; was it published to the wrong topic?")
    }

    /// A `DecodingError` as a ``MessageError`` naming the field.
    static func fieldError<Message: Decodable>(_ error: DecodingError, json: Data, type: Message.Type) -> MessageError {
        switch error {
        case .keyNotFound(let key, let context):
            return MessageError(.missingField, field: CodingPathText.join(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            return MessageError(.invalidField, field: CodingPathText.join(context.codingPath), "must be \(CodingPathText.typeName(type))")
        case .valueNotFound(let type, let context):
            return MessageError(.invalidField, field: CodingPathText.join(context.codingPath), "is null; must be \(CodingPathText.typeName(type))")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return MessageError(.invalidField, field: CodingPathText.join(context.codingPath), context.debugDescription)
        case .dataCorrupted:
            // Foundation reports a number that does not fit its field (1.5 for a whole number,
            // an out-of-range value) without a path; find the field by substitution.
            let field = NumberFieldLocator.locate(in: json, type: type)
            return MessageError(.invalidField, field: field, "a number does not fit its field (a fraction where a whole number is expected, or out of range)")
        @unknown default:
            return MessageError(.invalidField, "\(error)")
        }
    }
}
