import S2M3Core

/// A request made through ``S2M3Client`` did not give a result.
public struct S2M3ClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The aggregator answered with an error (see ``S2M3ClientError/taskError``).
        public static let taskFailed = Code("taskFailed")
        /// No answer arrived in time: is an aggregator running on this broker and root?
        public static let timeout = Code("timeout")
        /// The request could not be built (an invalid task name, input or id).
        public static let invalidRequest = Code("invalidRequest")
        /// An answer arrived that is neither a result nor an error.
        public static let invalidReply = Code("invalidReply")
        /// The client was closed while the request waited.
        public static let closed = Code("closed")
    }

    public let code: Code
    /// The aggregator's error, for ``Code/taskFailed``.
    public let taskError: TaskErrorMessage?
    public let message: String

    public init(_ code: Code, _ message: String, taskError: TaskErrorMessage? = nil) {
        self.code = code
        self.message = message
        self.taskError = taskError
    }

    public var description: String {
        if let taskError { return "\(taskError.code): \(taskError.reason)" + (taskError.field.map { " [\($0)]" } ?? "") }
        return message
    }
}
