import S2M3Core

/// What a ``RunningCluster`` tells its caller while it starts, serves and stops (`s2m3 up` prints
/// each as a line).
public enum ClusterEvent: Sendable {
    /// The broker runs (or the existing one is used).
    case broker(ClusterBroker)
    /// ``ClusterEnvironmentFile`` written at `path`, or not (`error`).
    case clusterFile(path: String, error: String?)
    /// Every service was started.
    case servicesStarted([ClusterService])
    /// A step on the way to ready (a plan epoch, a device's assignment applied or refused).
    case progress(String)
    /// A service exited while it should run: its status, the end of its log, and when it is
    /// restarted (nil: it is not, e.g. it exited with status 0 or restarts are off).
    case serviceExited(name: String, status: Int32?, logTail: String, restartIn: Duration?, crash: Int)
    case serviceRestarted(ClusterService)
    /// The broker exited while it should run; `restartIn` as for a service.
    case brokerExited(status: Int32?, logTail: String, restartIn: Duration?, crash: Int)
    case brokerRestarted(ClusterBroker)
    /// A later plan whose placement or unavailable tasks differ from the last one told.
    case replanned(PlanMessage)
    /// The plan could not be followed any more.
    case planFollowingFailed(String)
    /// Graceful stop: stopping `count` services; then which needed SIGKILL; then the broker.
    case stopping(count: Int)
    case servicesStopped(killed: [String])
    case brokerStopped
}

/// The broker a cluster uses.
public struct ClusterBroker: Sendable, Codable, Hashable {
    /// `mqtt` or `mqtts`.
    public var scheme: String
    /// `host:port`.
    public var endpoint: String
    /// The broker's process id and log when the cluster started it (nil: an existing broker).
    public var pid: Int32?
    public var log: String?
    /// The broker started on a free port because its config's was taken.
    public var configPortTaken = false
    /// With a started secure broker: the credentials folder (removed when the cluster stops).
    public var credentials: String?
}

/// One service of a cluster, as it runs now.
public struct ClusterService: Sendable, Codable, Hashable {
    /// `planner`, `agg-1`, `box-1` …
    public var name: String
    public var pid: Int32
    public var metricsPort: Int?
    public var log: String
}
