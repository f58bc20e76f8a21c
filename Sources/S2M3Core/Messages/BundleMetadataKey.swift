/// The `__metadata__` keys of S2M3 bundles (invocations, partial results, requests). Every value
/// is a string; numbers are written in decimal.
public enum BundleMetadataKey {
    public static let schema = "s2m3.schema"
    public static let requestID = "s2m3.request-id"
    public static let task = "s2m3.task"
    public static let node = "s2m3.node"
    public static let module = "s2m3.module"
    public static let epoch = "s2m3.epoch"
    public static let attempt = "s2m3.attempt"
    public static let replyTo = "s2m3.reply-to"
    public static let deadlineMs = "s2m3.deadline-ms"
    public static let device = "s2m3.device"
    public static let status = "s2m3.status"
    public static let error = "s2m3.error"
    public static let queueWaitMs = "s2m3.queue-wait-ms"
    public static let computeMs = "s2m3.compute-ms"
    public static let receivedAtMs = "s2m3.received-at-ms"
    public static let startedAtMs = "s2m3.started-at-ms"
    public static let finishedAtMs = "s2m3.finished-at-ms"
    public static let timeoutMs = "s2m3.timeout-ms"
    public static let chain = "s2m3.chain"
    public static let keep = "s2m3.keep"
}

/// Reads typed values from bundle metadata; a failure names the key.
struct MetadataReader {
    let metadata: [String: String]

    func schema(_ expected: String) throws(MessageError) {
        do {
            try MessageDecoding.checkSchema(metadata[BundleMetadataKey.schema], expected: expected)
        } catch {
            throw MessageError(error.code, field: BundleMetadataKey.schema, error.message)
        }
    }

    func string(_ key: String) throws(MessageError) -> String {
        guard let value = metadata[key] else { throw MessageError(.missingField, field: key, "is required in the bundle's __metadata__") }
        return value
    }

    func int(_ key: String) throws(MessageError) -> Int {
        let text = try string(key)
        guard let value = Int(text) else { throw MessageError(.invalidField, field: key, "'\(text)' is not a whole number") }
        return value
    }

    func optionalInt(_ key: String) throws(MessageError) -> Int? {
        metadata[key] == nil ? nil : try int(key)
    }

    func double(_ key: String) throws(MessageError) -> Double {
        let text = try string(key)
        guard let value = Double(text), value.isFinite else { throw MessageError(.invalidField, field: key, "'\(text)' is not a finite number") }
        return value
    }

    func optionalDouble(_ key: String) throws(MessageError) -> Double? {
        metadata[key] == nil ? nil : try double(key)
    }

    func value<E: MessageEnum>(_ key: String, as type: E.Type) throws(MessageError) -> E {
        let text = try string(key)
        guard let value = E(rawValue: text) else { throw MessageError(.invalidField, field: key, "'\(text)' is not one of \(E.allowedValues)") }
        return value
    }
}

/// Writes milliseconds for metadata: whole numbers without a fraction, others with up to 3 decimals.
func formatMilliseconds(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
    return String(rounded)
}

extension BundleMetadataKey {
    /// Every key above (topics.md documents each; a test checks it).
    public static let all: [String] = [
        schema, requestID, task, node, module, epoch, attempt, replyTo, deadlineMs, device, status, error,
        queueWaitMs, computeMs, receivedAtMs, startedAtMs, finishedAtMs, timeoutMs, chain, keep,
    ]
}
