/// Why a request failed, as a stable lower-case code. A struct rather than an enum so that new
/// codes can be added and old readers still decode them.
public struct TaskErrorCode: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The payload could not be read: not JSON/bundle/media, wrong schema, a missing or invalid field.
    public static let malformedRequest = TaskErrorCode(rawValue: "malformed-request")
    /// The content type is not one `requests/{task}` accepts.
    public static let unsupportedContentType = TaskErrorCode(rawValue: "unsupported-content-type")
    /// The payload is over the aggregator's size limit.
    public static let payloadTooLarge = TaskErrorCode(rawValue: "payload-too-large")
    /// No task of that name is in the catalog.
    public static let unknownTask = TaskErrorCode(rawValue: "unknown-task")
    /// An input the task needs is absent (or has the wrong kind).
    public static let missingInput = TaskErrorCode(rawValue: "missing-input")
    /// An input is present but unusable (a corrupt image, a WAV that does not decode).
    public static let badInput = TaskErrorCode(rawValue: "bad-input")
    /// The current plan cannot serve the task (a module it needs is placed nowhere).
    public static let taskUnavailable = TaskErrorCode(rawValue: "task-unavailable")
    /// Every replica of a needed module stayed busy until the deadline.
    public static let overloaded = TaskErrorCode(rawValue: "overloaded")
    /// The deadline (message expiry or timeout) passed before the result was ready.
    public static let deadlineExceeded = TaskErrorCode(rawValue: "deadline-exceeded")
    /// A module failed on every replica tried; `reason` gives the device's error.
    public static let moduleFailed = TaskErrorCode(rawValue: "module-failed")
    /// The request id was already used by the same client (the same response topic) within the
    /// aggregator's memory window; the earlier request's answer stands.
    public static let duplicateRequest = TaskErrorCode(rawValue: "duplicate-request")
    /// A bug or an unexpected state in the service.
    public static let internalError = TaskErrorCode(rawValue: "internal")

    /// Every code this version defines.
    public static let all: [TaskErrorCode] = [
        malformedRequest, unsupportedContentType, payloadTooLarge, unknownTask, missingInput, badInput,
        taskUnavailable, overloaded, deadlineExceeded, moduleFailed, duplicateRequest, internalError,
    ]

    /// The code for a request that failed to parse.
    public init(_ error: MessageError) {
        switch error.code {
        case .payloadTooLarge: self = .payloadTooLarge
        case .unsupportedContentType: self = .unsupportedContentType
        default: self = .malformedRequest
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Lower-case letters, digits and `-`, 1–64 characters.
    var isWellFormed: Bool {
        (1...64).contains(rawValue.utf8.count) && rawValue.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
        }
    }
}
