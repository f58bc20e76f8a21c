/// A failure to prepare, start or stop a local Mosquitto broker, with what to check.
public struct LocalBrokerError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The `mosquitto` executable was not found.
        public static let executableNotFound = Code("executableNotFound")
        /// The config template could not be read or has no listener.
        public static let badTemplate = Code("badTemplate")
        /// The broker exited during start-up (its log is in the message).
        public static let startFailed = Code("startFailed")
        /// The broker did not accept connections in time.
        public static let timeout = Code("timeout")
        /// A file or directory could not be created.
        public static let io = Code("io")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "local broker \(code): \(message)" }
}
