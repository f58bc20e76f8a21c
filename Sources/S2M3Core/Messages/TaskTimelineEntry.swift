/// Where one module invocation of a request ran and where its time went. `startMs` and `endMs`
/// are offsets from when the aggregator received the request: `startMs` when it sent the
/// invocation, `endMs` when the answer arrived. `transferMs` is the rest of that span:
/// `endMs - startMs - queuedMs - computeMs` (both directions over the bus).
public struct TaskTimelineEntry: Codable, Sendable, Hashable {
    public var node: String
    public var module: String
    public var device: String
    /// 1 for the first try; a retry on another replica has its own entry.
    public var attempt: Int
    public var queuedMs: Double
    public var computeMs: Double
    public var transferMs: Double
    public var startMs: Double
    public var endMs: Double
    /// On a stream (docs/streams.md): the other tasks this one invocation also served, when the
    /// frame's tasks shared the node (absent otherwise).
    public var sharedWith: [String]?
    /// The node that ran just before this one on the same device, in the same invocation (a
    /// co-located chain, topics.md): this node's inputs did not cross the bus; `startMs` is when
    /// that node's answer arrived (absent otherwise).
    public var chainedAfter: String?

    public init(
        node: String, module: String, device: String, attempt: Int = 1, queuedMs: Double, computeMs: Double,
        transferMs: Double, startMs: Double, endMs: Double
    ) {
        self.node = node
        self.module = module
        self.device = device
        self.attempt = attempt
        self.queuedMs = queuedMs
        self.computeMs = computeMs
        self.transferMs = transferMs
        self.startMs = startMs
        self.endMs = endMs
    }

    func validate(_ field: String) throws(MessageError) {
        try MessageCheck.identifier(node, "\(field).node")
        try MessageCheck.identifier(module, "\(field).module")
        try MessageCheck.identifier(device, "\(field).device")
        try MessageCheck.within(attempt, ValueRange.attempt, "\(field).attempt")
        try MessageCheck.nonNegative(queuedMs, "\(field).queuedMs")
        try MessageCheck.nonNegative(computeMs, "\(field).computeMs")
        try MessageCheck.nonNegative(transferMs, "\(field).transferMs")
        try MessageCheck.nonNegative(startMs, "\(field).startMs")
        try MessageCheck.nonNegative(endMs, "\(field).endMs")
        if let sharedWith { try MessageCheck.identifierList(sharedWith, "\(field).sharedWith") }
        if let chainedAfter { try MessageCheck.identifier(chainedAfter, "\(field).chainedAfter") }
        guard endMs >= startMs else { throw MessageError(.invalidField, field: "\(field).endMs", "is before startMs") }
    }
}
