import Foundation

extension TaskRequest {
    /// Reads a request as it arrives on `requests/{task}`, by its MQTT 5 content type:
    /// - `application/json`: a ``TaskRequest`` JSON object;
    /// - `image/jpeg`, `image/png`: one input named `image`; `audio/wav`: one input named `audio`;
    ///   `text/plain` (UTF-8): one input named `text`;
    /// - `application/x-safetensors`: a bundle whose tensors are the inputs (text and media marked
    ///   by `s2m3.content-type.{name}`), with optional `s2m3.request-id` / `s2m3.timeout-ms` metadata;
    /// - no content type (e.g. an MQTT 3 client): JPEG, PNG and WAV are recognised by their first
    ///   bytes, a payload starting with `{` is read as JSON, anything else as a bundle.
    ///
    /// The request id is the one in the payload, else the correlation data (see
    /// ``RequestID/from(correlationData:)``), else the `s2m3-request-id` user property, else nil
    /// (the aggregator assigns one). The returned request's `task` is `topicTask`.
    public init(
        payload: [UInt8], properties: MessageProperties, topicTask: String,
        maxPayloadBytes: Int = TaskRequest.defaultMaxPayloadBytes
    ) throws(MessageError) {
        do throws(MessageError) {
            guard payload.count <= maxPayloadBytes else {
                throw MessageError(.payloadTooLarge, field: "payload", "has \(payload.count) bytes; the limit is \(maxPayloadBytes)")
            }
            guard !payload.isEmpty else { throw MessageError(.invalidField, field: "payload", "is empty") }
            var request = try Self.read(payload, contentType: properties.contentType.map(MediaType.normalize))
            if let task = request.task, task != topicTask {
                throw MessageError(.invalidField, field: "task", "'\(task)' differs from the topic's task '\(topicTask)'")
            }
            request.task = topicTask
            request.requestID = request.requestID
                ?? properties.correlationData.flatMap(RequestID.from(correlationData:))
                ?? properties.userProperty(MessageProperties.requestIDName)
            try request.validate()
            self = request
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    private static func read(_ payload: [UInt8], contentType: String?) throws(MessageError) -> TaskRequest {
        let type = contentType ?? MediaType.sniff(payload) ?? (firstNonSpace(payload) == UInt8(ascii: "{") ? MediaType.json : TensorBundle.contentType)
        switch type {
        case MediaType.json:
            return try TaskRequest(json: payload)
        case MediaType.jpeg, MediaType.png:
            return TaskRequest(inputs: ["image": .media(contentType: type, bytes: payload)])
        case MediaType.wav:
            return TaskRequest(inputs: ["audio": .media(contentType: type, bytes: payload)])
        case MediaType.text:
            guard let text = String(validating: payload, as: UTF8.self) else {
                throw MessageError(.invalidField, field: "payload", "text/plain payload is not UTF-8")
            }
            return TaskRequest(inputs: ["text": .text(text)])
        case TensorBundle.contentType:
            let bundle: TensorBundle
            do {
                bundle = try TensorBundle(decoding: payload)
            } catch {
                throw MessageError(.invalidBundle, field: "payload", error.message)
            }
            return try TaskRequest(bundle: bundle)
        default:
            throw MessageError(
                .unsupportedContentType, field: "contentType",
                "'\(type)' is not accepted; use application/json, image/jpeg, image/png, audio/wav, text/plain or \(TensorBundle.contentType)")
        }
    }

    /// The request a bundle carries (see ``bundle()`` for the layout).
    public init(bundle: TensorBundle) throws(MessageError) {
        do {
            self = try Self.read(bundle)
            try validate()
        } catch {
            throw error.within(schema: Self.schema)
        }
    }

    private static func read(_ bundle: TensorBundle) throws(MessageError) -> TaskRequest {
        let reader = MetadataReader(metadata: bundle.metadata)
        if bundle.metadata[BundleMetadataKey.schema] != nil { try reader.schema(Self.schema) }
        var inputs: [String: TaskInput] = [:]
        do {
            for name in bundle.names {
                switch bundle.contentType(of: name).map(MediaType.normalize) {
                case nil: inputs[name] = .tensor(try bundle.tensor(name))
                case MediaType.text: inputs[name] = .text(try bundle.text(name))
                case MediaType.json: inputs[name] = .texts(try bundle.texts(name))
                case let media?: inputs[name] = .media(contentType: media, bytes: try bundle.tensor(name).uint8s())
                }
            }
        } catch {
            throw MessageError(.invalidBundle, field: "inputs", error.message)
        }
        return TaskRequest(
            requestID: bundle.metadata[BundleMetadataKey.requestID], task: bundle.metadata[BundleMetadataKey.task],
            inputs: inputs, timeoutMs: try reader.optionalInt(BundleMetadataKey.timeoutMs))
    }

    private static func firstNonSpace(_ bytes: [UInt8]) -> UInt8? {
        bytes.first { ![UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains($0) }
    }
}
