/// A request that could not be served, published by the aggregator on `errors/{task}` and, when
/// the request gave one, on its MQTT 5 response topic with its correlation data.
public struct TaskErrorMessage: ControlMessage {
    public static let schema = "s2m3.task-error/1"

    /// The request id, when the request got far enough to have one.
    public var requestID: String?
    /// The task named by the request topic.
    public var task: String
    public var code: TaskErrorCode
    /// What was wrong and what to check, for people.
    public var reason: String
    /// The offending field or input, when one is to blame (e.g. `inputs.image`).
    public var field: String?
    public var timestampMs: Int
    /// For `overloaded`: how long the client should wait before sending the request again, ms
    /// (the aggregator's estimate of when room frees up). Also the `retry-after-ms` user property.
    public var retryAfterMs: Int?

    private enum CodingKeys: String, CodingKey {
        case requestID = "requestId", task, code, reason, field, timestampMs, retryAfterMs
    }

    public init(
        requestID: String?, task: String, code: TaskErrorCode, reason: String, field: String? = nil, timestampMs: Int,
        retryAfterMs: Int? = nil
    ) {
        self.requestID = requestID
        self.task = task
        self.code = code
        self.reason = reason
        self.field = field
        self.timestampMs = timestampMs
        self.retryAfterMs = retryAfterMs
    }

    /// Range of ``retryAfterMs``: up to an hour.
    public static let retryAfterRange: ClosedRange<Int> = 0...3_600_000

    /// The error answering a request that failed to parse.
    public init(requestID: String?, task: String, parsing error: MessageError, timestampMs: Int) {
        self.init(requestID: requestID, task: task, code: TaskErrorCode(error), reason: error.description, field: error.field, timestampMs: timestampMs)
    }

    public func validate() throws(MessageError) {
        if let requestID { try MessageCheck.requestID(requestID, "requestId") }
        try MessageCheck.nonEmpty(task, "task", maxLength: 256)
        guard code.isWellFormed else {
            throw MessageError(.invalidField, field: "code", "'\(code)' is not a code (lower-case letters, digits, '-')")
        }
        try MessageCheck.nonEmpty(reason, "reason")
        if let field { try MessageCheck.nonEmpty(field, "field", maxLength: 256) }
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
        if let retryAfterMs { try MessageCheck.within(retryAfterMs, Self.retryAfterRange, "retryAfterMs") }
    }

    /// Longest `reason`, UTF-8 bytes (``validate()`` refuses longer ones).
    public static let maxReasonBytes = 4096

    /// This error made valid whatever it was built from, so that it can always be published (one
    /// answer per request): an invalid request id is dropped (the reason and the correlation data
    /// still identify the request), a task that is not an identifier becomes `-`, the reason and
    /// field are cut to their limits, a time out of range becomes 0.
    public func publishable() -> TaskErrorMessage {
        var copy = self
        if let id = requestID, !RequestID.isValid(id) { copy.requestID = nil }
        if !Topics.isValidIdentifier(task) { copy.task = Self.unnamedTask }
        if !code.isWellFormed { copy.code = .internalError }
        copy.reason = Self.cut(reason.isEmpty ? "no reason given" : reason, maxBytes: Self.maxReasonBytes)
        copy.field = field.flatMap { $0.isEmpty ? nil : Self.cut($0, maxBytes: 256) }
        if !ValueRange.timestampMs.contains(timestampMs) { copy.timestampMs = 0 }
        copy.retryAfterMs = retryAfterMs.map { min(max($0, Self.retryAfterRange.lowerBound), Self.retryAfterRange.upperBound) }
        return copy
    }

    /// The `task` of an error whose request topic named no valid task (e.g. `requests/` with an
    /// empty name); such errors are published on `errors/-`.
    public static let unnamedTask = "-"

    /// `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, ending in "…" when cut.
    static func cut(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var out = ""
        var bytes = 0
        let ellipsis = "…".utf8.count
        for character in text {
            let size = character.utf8.count
            guard bytes + size + ellipsis <= maxBytes else { break }
            out.append(character)
            bytes += size
        }
        return out + "…"
    }

    /// The MQTT 5 properties to publish the error with; `correlationData` is the request's own.
    public func properties(correlationData: [UInt8]?, traceparent: String?) -> MessageProperties {
        var user: [MessageProperties.UserProperty] = []
        if let requestID { user = MessageProperties.requestProperties(requestID: requestID, epoch: nil, traceparent: traceparent) }
        if let retryAfterMs { user.append(.init(MessageProperties.retryAfterName, String(retryAfterMs))) }
        return MessageProperties(contentType: MediaType.json, correlationData: correlationData, userProperties: user)
    }
}
