/// Why a local cluster could not start, or stopped on its own: the message says what and where
/// (a service's name and its log).
public struct LocalClusterError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
