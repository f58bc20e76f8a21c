import Catalog
import Foundation
import S2M3Core

/// Runs a task in one process: the accuracy reference for distributed execution and the engine of
/// `s2m3 run`. Nodes run as soon as their arguments exist, independent ones concurrently (a task
/// group), with the same data-flow rules as the aggregator (``TaskBinding``).
public struct TaskRunner: Sendable {
    public let modules: LocalModules
    /// The `device` of every timeline entry.
    public var device = "local"

    public init(modules: LocalModules) {
        self.modules = modules
    }

    /// Runs `binding`'s task on `request` (a request bundle, ``TaskRequest/bundle()``). The result's
    /// timeline has one entry per node, in the order they finished; offsets count from the call.
    public func run(
        _ binding: TaskBinding, request: TensorBundle, requestID: String = "local"
    ) async throws(TaskRunError) -> TaskResult {
        let clock = ContinuousClock(), start = clock.now
        func offset(_ instant: ContinuousClock.Instant) -> Double { Self.milliseconds(start.duration(to: instant)) }
        var values: [String: TensorBundle]
        do { values = try binding.inputValues(request) } catch { throw TaskRunError(error) }
        var timeline: [TaskTimelineEntry] = []
        let outcome: Result<Void, TaskRunError> = await withTaskGroup(of: NodeOutcome.self) { group in
            var started: Set<String> = []
            var running = 0
            func launch() throws(TaskRunError) {
                for node in binding.readyNodes(available: Set(values.keys), started: started) {
                    let arguments: TensorBundle
                    do { arguments = try binding.arguments(of: node, values: values) } catch { throw TaskRunError(error) }
                    started.insert(node.id)
                    running += 1
                    let modules = modules
                    group.addTask {
                        let begin = clock.now
                        let result = await captureResult { () async throws(ModuleError) -> TensorBundle in
                            let module = try await modules.module(node.module)
                            return try await module.run(arguments)
                        }
                        return NodeOutcome(node: node, result: result, begin: begin, end: clock.now)
                    }
                }
            }
            do throws(TaskRunError) {
                try launch()
                while running > 0, let finished = await group.next() {
                    running -= 1
                    let bundle = try finished.result.mapError { TaskRunError($0, node: finished.node.id) }.get()
                    values[finished.node.id] = bundle
                    let (begin, end) = (offset(finished.begin), offset(finished.end))
                    timeline.append(TaskTimelineEntry(
                        node: finished.node.id, module: finished.node.module, device: device, queuedMs: 0,
                        computeMs: end - begin, transferMs: 0, startMs: begin, endMs: end))
                    try launch()
                }
                if started.count < binding.nodes.count {
                    throw TaskRunError(.binding, node: nil, "nodes \(binding.nodes.map(\.id).filter { !started.contains($0) }) never became ready")
                }
                return .success(())
            } catch {
                group.cancelAll()
                return .failure(error)
            }
        }
        try outcome.get()
        let outputs: [String: TaskOutput]
        do { outputs = try binding.result(values: values) } catch { throw TaskRunError(error) }
        return TaskResult(
            requestID: requestID, task: binding.task.id, epoch: 1, outputs: outputs, timeline: timeline,
            totalMs: offset(clock.now), aggregator: device, completedAtMs: Int(Date().timeIntervalSince1970 * 1000))
    }

    private struct NodeOutcome: Sendable {
        let node: TaskNode
        let result: Result<TensorBundle, ModuleError>
        let begin: ContinuousClock.Instant
        let end: ContinuousClock.Instant
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// A task could not run: a request that does not fit the task (``Code/binding``) or a module that
/// failed (``Code/module``, with the ``ModuleError`` and the node).
public struct TaskRunError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case binding
        case module
    }

    public let code: Code
    /// The node whose module failed, when one did.
    public let node: String?
    public let message: String
    public let moduleError: ModuleError?
    public let bindingError: TaskBindingError?

    init(_ code: Code, node: String?, _ message: String) {
        self.code = code
        self.node = node
        self.message = message
        moduleError = nil
        bindingError = nil
    }

    init(_ error: ModuleError, node: String) {
        code = .module
        self.node = node
        message = "node '\(node)': \(error.description)"
        moduleError = error
        bindingError = nil
    }

    init(_ error: TaskBindingError) {
        code = .binding
        node = nil
        message = error.message
        moduleError = nil
        bindingError = error
    }

    public var description: String { message }
}
