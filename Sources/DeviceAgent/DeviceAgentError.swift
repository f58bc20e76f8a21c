/// A device agent could not start or was given bad settings: what went wrong and what to check.
public struct DeviceAgentError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A command-line or configuration value is invalid (memory budget, sensor list, id).
        case invalidSetting
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
