import Foundation
import S2M3Core

/// Everything an aggregator is told by its operator (`s2m3 aggregator` fills it from flags).
public struct AggregatorConfiguration: Sendable {
    /// The aggregator's id: its partials arrive on `aggregators/{id}/partials/{device}`.
    public var id: String
    public var topics: Topics
    /// Shared-subscription group; every aggregator of one cluster uses the same one.
    public var group: String = Topics.aggregatorGroup
    /// Deadline of a request that names none (and has no message expiry), ms.
    public var defaultTimeoutMs: Int = 10_000
    /// What a request may hold and how much may be in flight (topics.md, "Limits").
    public var limits = LimitsConfiguration()
    /// Largest request payload accepted, bytes (``LimitsConfiguration/maxPayloadBytes``).
    public var maxPayloadBytes: Int {
        get { limits.maxPayloadBytes }
        set { limits.maxPayloadBytes = newValue }
    }
    /// How many requests are taken at once; the rest are answered `overloaded` at once.
    public var admission = AdmissionConfiguration()
    /// Times a node is sent again after every replica answered `busy` before the request is
    /// answered `overloaded` (each wait twice the one before, from 25 ms).
    public var maxBusyRetries: Int = 5
    /// Longest wait between those rounds, ms (25 with a huge ``maxBusyRetries``: the behaviour
    /// before admission control, a resend every 25 ms until the deadline).
    public var busyBackoffCapMs: Double = 1_000
    /// Dispatch at most one node of a request at a time (benchmark baseline).
    public var sequential: Bool = false
    /// Let a device run consecutive nodes it hosts as one invocation (``RequestExecution/Settings/chains``).
    public var chains: Bool = true
    /// How long a finished request id is remembered (per client), so a repeat gets
    /// `duplicate-request` rather than a second run, ms.
    public var duplicateWindowMs: Double = 120_000
    /// Lower bound of the time an invocation is given before it is retried elsewhere, ms.
    public var invocationTimeoutFloorMs: Double = 2_000
    /// Telemetry silence after which a device is suspected (hung) and routed around while another
    /// replica is live, ms (devices report every second by default).
    public var telemetrySilenceMs: Double = 2_000
    /// How often deadlines, invocation timeouts and back-offs are checked while requests or
    /// streams are in flight.
    public var tickInterval: Duration = .milliseconds(10)
    /// How often the rest (silent devices, remembered request ids) is checked while nothing is in
    /// flight; the first request wakes the ticker at once.
    public var idleTickInterval: Duration = .seconds(1)
    /// On graceful shutdown, how long requests in flight may take to finish before the service stops.
    public var drainTimeout: Duration = .seconds(5)
    /// A fresh id for this run, in its state messages and last will (`aggregators/{id}/state`).
    public var session: String = UUID().uuidString.lowercased()
    /// How often `aggregators/{id}/telemetry` is published.
    public var telemetryInterval: Duration = .seconds(1)
    /// Serve camera streams (`streams/+` subscriptions, `sources/+/frames`; docs/streams.md).
    /// Every aggregator that serves streams processes every frame: in a cluster of several
    /// aggregators, let one serve them.
    public var streams: Bool = true
    /// Stream subscriptions declared by the operator (``StreamSubscriptionFile``, name →
    /// subscription), in force from the start; a retained `streams/{name}` of the same name
    /// replaces one, an empty retained one ends it.
    public var streamSubscriptions: [String: StreamSubscription] = [:]

    public init(id: String, topics: Topics = Topics()) {
        self.id = id
        self.topics = topics
    }

    /// The settings each request's ``RequestExecution`` runs with.
    var executionSettings: RequestExecution.Settings {
        var settings = RequestExecution.Settings(aggregator: id, sequential: sequential)
        settings.invocationTimeoutFloorMs = invocationTimeoutFloorMs
        settings.chains = chains
        settings.maxBusyRetries = maxBusyRetries
        settings.busyBackoffCapMs = busyBackoffCapMs
        return settings
    }
}
