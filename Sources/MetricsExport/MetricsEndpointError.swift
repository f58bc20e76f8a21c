/// The metrics endpoint could not start: what failed, the system's message, and what to do.
public struct MetricsEndpointError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public static let badAddress = Code(name: "bad-address")
        public static let socket = Code(name: "socket")
        public static let bind = Code(name: "bind")
        public static let listen = Code(name: "listen")
        public var description: String { name }
    }

    public var code: Code
    /// The `errno` of the failing call, if any.
    public var errno: Int32?
    public var message: String

    public var description: String { "metrics endpoint: \(message)" }
}
