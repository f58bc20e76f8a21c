import Catalog
import Foundation
import S2M3Core

/// A cluster once every device applied the plan: where to reach it, its services, the plan (where
/// each module went), how long it took, and the memory sharing saves. `s2m3 up --json` prints it
/// as one line `{"ready": …}`.
public struct ClusterReadyReport: Sendable, Codable {
    public var broker: ClusterBroker
    public var root: String
    public var services: [ClusterService]
    public var devices: [String]
    /// Each device's memory budget (bytes).
    public var budget: Int
    public var plan: PlanMessage
    /// Seconds from the services' start to the first plan naming every device, and to every device applied it.
    public var planAfterSeconds: Double?
    public var readyAfterSeconds: Double?
    public var sharing: SharingReport
    public var logs: String
    public var clusterFile: String?
}

/// One line of `s2m3 up --json`: the services once started, the ready report, each restart.
public struct ClusterJSONLine: Sendable, Codable {
    public var services: [ClusterService]?
    public var ready: ClusterReadyReport?
    public var restarted: ClusterService?
    public var brokerRestarted: ClusterBroker?
    /// A service (or `broker`) that exited while it should run, and its status.
    public var exited: String?
    public var status: Int32?

    public init(
        services: [ClusterService]? = nil, ready: ClusterReadyReport? = nil, restarted: ClusterService? = nil,
        brokerRestarted: ClusterBroker? = nil, exited: String? = nil, status: Int32? = nil
    ) {
        self.services = services
        self.ready = ready
        self.restarted = restarted
        self.brokerRestarted = brokerRestarted
        self.exited = exited
        self.status = status
    }

    /// The line: JSON without newlines.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
