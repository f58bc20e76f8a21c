/// `streams/{subscription}` (retained): a consumer's standing order for one source's stream —
/// which tasks to run on each frame, at most how many results per second, and the inputs the
/// frame does not give (e.g. `texts` for `match-image-text`). Clearing the retained message (an
/// empty payload) ends it. docs/streams.md.
public struct StreamSubscription: ControlMessage {
    public static let schema = "s2m3.stream-subscription/1"
    /// At most this many tasks per subscription.
    public static let maxTasks = 16

    /// One task of the subscription.
    public struct Task: Codable, Sendable, Hashable {
        public var task: String
        /// Inputs besides the frame (the frame fills the task's first image input).
        public var inputs: [String: TaskInput]

        public init(task: String, inputs: [String: TaskInput] = [:]) {
            self.task = task
            self.inputs = inputs
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            task = try container.decode(String.self, forKey: .task)
            inputs = try container.decodeIfPresent([String: TaskInput].self, forKey: .inputs) ?? [:]
        }
    }

    /// The `{source}` whose frames are processed.
    public var source: String
    public var tasks: [Task]
    /// At most this many frames per second are processed for this subscription (nil: as many as
    /// the cluster keeps up with).
    public var maxResultsPerSecond: Double?

    public init(source: String, tasks: [Task], maxResultsPerSecond: Double? = nil) {
        self.source = source
        self.tasks = tasks
        self.maxResultsPerSecond = maxResultsPerSecond
    }

    public func validate() throws(MessageError) {
        try MessageCheck.identifier(source, "source")
        guard (1...Self.maxTasks).contains(tasks.count) else {
            throw MessageError(.invalidField, field: "tasks", "has \(tasks.count) tasks; 1–\(Self.maxTasks) are accepted")
        }
        var seen: Set<String> = []
        for (index, task) in tasks.enumerated() {
            try MessageCheck.identifier(task.task, "tasks[\(index)].task")
            guard seen.insert(task.task).inserted else {
                throw MessageError(.invalidField, field: "tasks[\(index)].task", "'\(task.task)' is listed twice")
            }
            for name in task.inputs.keys.sorted() { try MessageCheck.identifier(name, "tasks[\(index)].inputs.\(LimitsConfiguration.echo(name))") }
        }
        if let maxResultsPerSecond {
            try MessageCheck.within(maxResultsPerSecond, 0.001...1000, "maxResultsPerSecond")
        }
    }
}
