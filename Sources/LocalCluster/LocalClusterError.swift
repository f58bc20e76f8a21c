/// Why a local cluster could not start, or stopped on its own: the message says what and where
/// (a service's name and its log).
public struct LocalClusterError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Hashable {
        /// A configuration number out of range, a file that cannot be found or made.
        case configuration
        /// A service or the broker could not be started, or exited during start-up.
        case start
        /// Every device did not apply a plan in time.
        case notReady
        /// A child crashed the policy's crash limit within its window.
        case crashLoop
        /// The broker exited and is not restarted.
        case brokerExited
        /// What the caller ran on the ready cluster failed (e.g. `up --demo`).
        case task
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
