import Catalog
import S2M3Core

/// What every stream of one aggregator shares: the catalog's tasks, the execution settings and
/// limits, the merged graphs already built (one per set of tasks and medium), and the one-node
/// graph that runs the catalog's voice-activity detector on a microphone's blocks.
struct StreamContext: Sendable {
    /// The input of a task a camera's frame fills.
    static let frameInput = "image"
    /// The input of a task a microphone's utterance fills (a 16 kHz WAV file).
    static let utteranceInput = "audio"
    /// The media inputs a stream can fill.
    static let mediaInputs = [frameInput, utteranceInput]
    /// The driver of the module that finds speech (Silero VAD in the default catalog).
    static let vadDriver = "vad-stream"

    let catalog: ModuleCatalog
    let settings: RequestExecution.Settings
    let limits: LimitsConfiguration
    /// How long one frame's tasks may take, ms.
    let timeoutMs: Int
    private var merges: [[String]: MergedTasks] = [:]
    private var bindings: [String: TaskBinding] = [:]
    /// Executions started by this aggregator's streams, and a token of this aggregator's life:
    /// devices drop an invocation whose (request id, node, attempt) they saw before, so a stream's
    /// execution ids must never repeat, whether a source's session ends and starts again or the
    /// aggregator restarts.
    private var executions = 0
    private let token = String(UInt32.random(in: .min ... .max), radix: 36)
    /// `samples` → the VAD module's `speech` probability, or nil when the catalog has no
    /// `vad-stream` module (microphone streams then answer an error).
    let vadBinding: TaskBinding?

    init(catalog: ModuleCatalog, settings: RequestExecution.Settings, limits: LimitsConfiguration, timeoutMs: Int) {
        self.catalog = catalog
        self.settings = settings
        self.limits = limits
        self.timeoutMs = timeoutMs
        for task in catalog.tasks { bindings[task.id] = try? TaskBinding(task: task, catalog: catalog) }
        vadBinding = Self.vadBinding(catalog)
    }

    /// A new execution id: `{kind}:{source}:{token}-{n}`, unique for this aggregator's life.
    mutating func executionID(_ kind: String, source: String) -> String {
        executions += 1
        return "\(kind):\(source):\(token)-\(executions)"
    }

    /// The one-node task `voice-activity`: input `samples` (float32, 16 kHz) → node `speech`.
    static func vadBinding(_ catalog: ModuleCatalog) -> TaskBinding? {
        guard let module = catalog.modules.first(where: { $0.driver == vadDriver }) else { return nil }
        let graph = TaskGraph(inputs: [.init(id: "samples")], nodes: [TaskNode(id: "speech", module: module.id, inputs: ["samples"])])
        let task = ModuleCatalog.Task(id: "voice-activity", description: "speech probability of a microphone block", graph: graph, outputNodes: ["speech"])
        return try? TaskBinding(task: task, catalog: catalog)
    }

    /// Why `task` cannot run on a stream with these inputs, or nil: it needs an `image` input (a
    /// camera's frames) or an `audio` input (a microphone's utterances) the subscription leaves
    /// to the stream, and every other input without a default.
    func problem(task: String, inputs: [String: TaskInput]) -> String? {
        guard let binding = bindings[task] else {
            return "no task '\(task)' in the catalog; tasks: \(bindings.keys.sorted().joined(separator: ", "))"
        }
        let declared = binding.task.graph.inputs.map(\.id)
        let media = Self.mediaInputs.filter(declared.contains)
        guard !media.isEmpty else {
            return "task '\(task)' has no 'image' input for a camera's frames nor 'audio' input for a microphone's utterances (inputs: \(declared.joined(separator: ", ")))"
        }
        if media.allSatisfy({ inputs[$0] != nil }) {
            return "input '\(media[0])' is what the stream fills; a subscription cannot set it"
        }
        if let unknown = inputs.keys.sorted().first(where: { !declared.contains($0) }) {
            return "task '\(task)' has no input '\(unknown)' (inputs: \(declared.joined(separator: ", ")))"
        }
        if let missing = declared.first(where: { !Self.mediaInputs.contains($0) && inputs[$0] == nil && binding.task.defaults[$0] == nil }) {
            return "task '\(task)' needs input '\(missing)' in the subscription"
        }
        return nil
    }

    /// The task's input values for one frame or utterance.
    func inputValues(task: String, frame: StreamSession.Pending, inputs: [String: TaskInput]) throws(TaskBindingError) -> [String: TensorBundle] {
        guard let binding = bindings[task] else { throw TaskBindingError(.missingInput, field: task, "no task '\(task)'") }
        let medium = frame.utterance == nil ? Self.frameInput : Self.utteranceInput
        guard binding.task.graph.inputs.contains(where: { $0.id == medium }), inputs[medium] == nil else {
            let what = frame.utterance == nil ? "a camera's frames" : "a microphone's utterances"
            throw TaskBindingError(.missingInput, field: medium, "task '\(task)' takes no '\(medium)' from the stream, so it cannot run on \(what) of '\(frame.frame.source)'")
        }
        var bundle = TensorBundle()
        do throws(TensorBundleError) {
            try bundle.setMedia(frame.media, contentType: frame.frame.contentType, named: medium)
            for (name, input) in inputs.sorted(by: { $0.key < $1.key }) {
                try bundle.set(input, named: name)
            }
        } catch {
            throw TaskBindingError(.missingInput, field: task, "the inputs of '\(task)' cannot be used: \(error.message)")
        }
        return try binding.inputValues(bundle)
    }

    /// The merged graph of these tasks sharing the stream's `medium` input (built once per set).
    mutating func merge(_ tasks: [String], sharing medium: String) -> MergedTasks? {
        let key = [medium] + tasks
        if let merged = merges[key] { return merged }
        let entries = tasks.compactMap { id in catalog.tasks.first { $0.id == id } }
        guard let merged = try? MergedTasks(tasks: entries, shared: [medium], catalog: catalog) else { return nil }
        if merges.count >= 256 { merges = [:] }
        merges[key] = merged
        return merged
    }

    func error(_ id: String?, task: String, _ code: TaskErrorCode, _ reason: String, nowMs: Double) -> TaskErrorMessage {
        TaskErrorMessage(requestID: id, task: task, code: code, reason: reason, field: nil, timestampMs: Int(nowMs)).publishable()
    }
}
