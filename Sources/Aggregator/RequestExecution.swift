import Catalog
import S2M3Core

/// One request's execution, as a pure state machine: which nodes have values, which invocations
/// are out on which device, what to send next. Every event takes the current time and the
/// aggregator's ``ReplicaChooser`` (which it tells about each invocation sent and ended) and returns
/// the actions to perform: invocations to publish, then at most one ending (result or error).
///
/// Rules: every ready node is dispatched at once (one at a time with `sequential`), each to one
/// replica chosen by predicted finish time; the nodes after it that the same device hosts and
/// that read only its chain's outputs and values already known go in the same invocation (a
/// chain, ``Settings/chains``: a failed chain is re-run from its first node whose inputs are
/// known). A branch is retried (`attempt + 1`) on another replica
/// when its device goes offline, does not answer within its invocation timeout, answers `busy`, or
/// fails for a reason other than its input; with no replica left it waits for a newer plan (a
/// replica that was only slow is asked again). When every replica is busy it backs off (doubling
/// each round) and, after ``Settings/maxBusyRetries`` rounds, fails with `overloaded`.
/// Partials are taken once per (node, attempt); any attempt's `ok` completes its node.
public struct RequestExecution: Sendable {
    /// An invocation to publish on `modules/{module}/{device}/invoke`.
    public struct Invocation: Sendable, Hashable {
        public var device: String
        public var request: InvokeRequest
        /// The module's call inputs (no metadata but content-type markers).
        public var arguments: TensorBundle
    }

    public enum Action: Sendable, Hashable {
        case invoke(Invocation)
        /// Every output node has its value: the result, ready to publish.
        case complete(TaskResult)
        /// The request cannot be served.
        case fail(code: TaskErrorCode, reason: String, field: String?)
    }

    /// Tuning shared by every request of one aggregator.
    public struct Settings: Sendable, Hashable {
        public var aggregator: String
        /// Dispatch at most one node at a time (the benchmark's sequential baseline; no chains).
        public var sequential: Bool = false
        /// When a node's device also hosts the nodes that follow it, send them in the same
        /// invocation: the device runs them in turn and returns only the outputs needed elsewhere.
        public var chains: Bool = true
        /// A node is chained on its predecessor's device unless another replica is predicted to
        /// finish it more than this much sooner, ms (about one bus round trip saved).
        public var chainSlackMs: Double = 3
        /// An invocation is given up after `max(floor, factor × predicted finish)`.
        public var invocationTimeoutFloorMs: Double = 2000
        public var invocationTimeoutFactor: Double = 4
        /// Wait before re-trying a node every replica of which answered `busy`; doubled for each
        /// further round, up to ``busyBackoffCapMs``.
        public var busyBackoffMs: Double = 25
        public var busyBackoffCapMs: Double = 1_000
        /// Rounds of `busy` answers from every replica a node may wait out; after that the request
        /// is answered `overloaded` (the invocation is not sent again in a loop until the deadline).
        public var maxBusyRetries = 5
        /// How often a node waiting for room on a full replica looks again, ms.
        public var roomWaitMs: Double = 10
        /// Wait before re-trying a node whose replicas answered that the module is not loaded yet.
        public var notLoadedBackoffMs: Double = 100

        public init(aggregator: String, sequential: Bool = false) {
            self.aggregator = aggregator
            self.sequential = sequential
        }
    }

    struct Sent: Sendable, Hashable {
        var device: String
        var module: String
        var sentAtMs: Double
        var timeoutAtMs: Double
        /// Still counted in the chooser's outstanding invocations (a chain counts once: its last node).
        var counted: Bool
        /// The predicted compute it was counted with (the chain's, on its counted node), ms.
        var workMs = 0.0
        /// The chain it was sent in (`head#attempt`), if it was chained with other nodes.
        var chain: String? = nil
        /// The answer carries the node's outputs (false: only a later node of its chain reads them).
        var returnsOutputs = true
        /// The node run before it in its chain.
        var chainedAfter: String? = nil
    }

    enum NodeState: Sendable, Hashable {
        /// Not ready yet (inputs missing).
        case idle
        /// Ready; to be sent once `notBefore` has passed and a replica is free (infinity: wait for a plan).
        case ready(notBefore: Double)
        /// Out as this attempt.
        case running(attempt: Int)
        case done
    }

    public let requestID: String
    public let task: String
    public let binding: TaskBinding
    public let settings: Settings
    /// When the aggregator received the request, Unix ms.
    public let receivedAtMs: Double
    public let deadlineMs: Int
    public let traceparent: String?

    var values: [String: TensorBundle]
    var nodes: [String: NodeState] = [:]
    /// (node, attempt) → where and when it was sent.
    var sent: [String: [Int: Sent]] = [:]
    /// (node, attempt) answered already (QoS 1 may deliver twice).
    var answered: Set<String> = []
    /// Devices not to use again for a node (offline, timed out, failed) until a newer plan.
    var excluded: [String: Set<String>] = [:]
    /// Devices that did not answer a node's invocation in time: avoided while other replicas exist.
    var timedOut: [String: Set<String>] = [:]
    /// Devices that answered `busy` for a node since its last back-off.
    var busy: [String: Set<String>] = [:]
    /// The device errors of a node (module failures, not bad input).
    var errors: [String: [String]] = [:]
    /// Nodes whose latest answer was `busy` (at the deadline: `overloaded`, not `deadline-exceeded`).
    var lastAnsweredBusy: Set<String> = []
    /// Back-offs a node has waited because every replica was busy.
    var busyRounds: [String: Int] = [:]
    var timeline: [TaskTimelineEntry] = []
    var epoch = 0
    public internal(set) var isFinished = false

    public init(
        requestID: String, binding: TaskBinding, inputs: [String: TensorBundle], settings: Settings,
        receivedAtMs: Double, deadlineMs: Int, traceparent: String? = nil
    ) {
        self.requestID = requestID
        self.task = binding.task.id
        self.binding = binding
        self.settings = settings
        self.receivedAtMs = receivedAtMs
        self.deadlineMs = deadlineMs
        self.traceparent = traceparent
        values = inputs
        for node in binding.nodes { nodes[node.id] = .idle }
    }

    /// Nodes out now, as (node, attempt, device) — for tests and diagnostics.
    public var running: [(node: String, attempt: Int, device: String)] {
        binding.nodes.compactMap { node in
            guard case .running(let attempt) = nodes[node.id], let record = sent[node.id]?[attempt] else { return nil }
            return (node.id, attempt, record.device)
        }
    }

    /// Nodes with a value.
    public var finishedNodes: Set<String> { Set(nodes.filter { $0.value == .done }.map(\.key)) }

    /// Sends every node that is ready.
    public mutating func start(router: inout ReplicaChooser, nowMs: Double) -> [Action] {
        pump(router: &router, nowMs: nowMs)
    }
}
