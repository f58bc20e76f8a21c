import Catalog
import S2M3Core

/// What every stream of one aggregator shares: the catalog's tasks, the execution settings and
/// limits, and the merged graphs already built (one per set of tasks).
struct StreamContext: Sendable {
    /// The input of a task a frame fills.
    static let frameInput = "image"

    let catalog: ModuleCatalog
    let settings: RequestExecution.Settings
    let limits: LimitsConfiguration
    /// How long one frame's tasks may take, ms.
    let timeoutMs: Int
    private var merges: [[String]: MergedTasks] = [:]
    private var bindings: [String: TaskBinding] = [:]

    init(catalog: ModuleCatalog, settings: RequestExecution.Settings, limits: LimitsConfiguration, timeoutMs: Int) {
        self.catalog = catalog
        self.settings = settings
        self.limits = limits
        self.timeoutMs = timeoutMs
        for task in catalog.tasks { bindings[task.id] = try? TaskBinding(task: task, catalog: catalog) }
    }

    /// Why `task` cannot run on a stream's frames with these inputs, or nil.
    func problem(task: String, inputs: [String: TaskInput]) -> String? {
        guard let binding = bindings[task] else {
            return "no task '\(task)' in the catalog; tasks: \(bindings.keys.sorted().joined(separator: ", "))"
        }
        let declared = binding.task.graph.inputs.map(\.id)
        guard declared.contains(Self.frameInput) else {
            return "task '\(task)' has no '\(Self.frameInput)' input for the frames (inputs: \(declared.joined(separator: ", ")))"
        }
        if inputs[Self.frameInput] != nil { return "input '\(Self.frameInput)' is the frame; a subscription cannot set it" }
        if let unknown = inputs.keys.sorted().first(where: { !declared.contains($0) }) {
            return "task '\(task)' has no input '\(unknown)' (inputs: \(declared.joined(separator: ", ")))"
        }
        if let missing = declared.first(where: { $0 != Self.frameInput && inputs[$0] == nil && binding.task.defaults[$0] == nil }) {
            return "task '\(task)' needs input '\(missing)' in the subscription"
        }
        return nil
    }

    /// The task's input values for one frame.
    func inputValues(task: String, frame: StreamSession.Pending, inputs: [String: TaskInput]) throws(TaskBindingError) -> [String: TensorBundle] {
        guard let binding = bindings[task] else { throw TaskBindingError(.missingInput, field: task, "no task '\(task)'") }
        var bundle = TensorBundle()
        do throws(TensorBundleError) {
            try bundle.setMedia(frame.image, contentType: frame.frame.contentType, named: Self.frameInput)
            for (name, input) in inputs.sorted(by: { $0.key < $1.key }) {
                try bundle.set(input, named: name)
            }
        } catch {
            throw TaskBindingError(.missingInput, field: task, "the inputs of '\(task)' cannot be used: \(error.message)")
        }
        return try binding.inputValues(bundle)
    }

    /// The merged graph of these tasks (built once per set).
    mutating func merge(_ tasks: [String]) -> MergedTasks? {
        if let merged = merges[tasks] { return merged }
        let entries = tasks.compactMap { id in catalog.tasks.first { $0.id == id } }
        guard let merged = try? MergedTasks(tasks: entries, shared: [Self.frameInput], catalog: catalog) else { return nil }
        if merges.count >= 256 { merges = [:] }
        merges[tasks] = merged
        return merged
    }

    func error(_ id: String?, task: String, _ code: TaskErrorCode, _ reason: String, nowMs: Double) -> TaskErrorMessage {
        TaskErrorMessage(requestID: id, task: task, code: code, reason: reason, field: nil, timestampMs: Int(nowMs)).publishable()
    }
}
