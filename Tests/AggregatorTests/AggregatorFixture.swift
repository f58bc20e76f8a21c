import Aggregator
import Catalog
import Foundation
import S2M3Core
import TestSupport

/// The default catalog's tasks (weights not read), plans, and device answers made up for the pure
/// tests: outputs of the right names and dtypes, so ``TaskBinding`` can build every next stage.
enum AggregatorFixture {
    static let catalog: ModuleCatalog = {
        try! AggregatorCatalog.load(path: TestPaths.repository.appendingPathComponent("catalog/default.json").path)
    }()

    /// A configuration for the tests whose made-up devices answer one node per invocation: chains
    /// off (``RequestExecutionChainTests`` covers chains).
    static func configuration(id: String = "agg-1") -> AggregatorConfiguration {
        var configuration = AggregatorConfiguration(id: id)
        configuration.chains = false
        return configuration
    }

    /// Execution settings without chains, as ``configuration(id:)``.
    static func settings(sequential: Bool = false) -> RequestExecution.Settings {
        var settings = RequestExecution.Settings(aggregator: "agg-1", sequential: sequential)
        settings.chains = false
        return settings
    }

    static func binding(_ task: String) -> TaskBinding {
        try! TaskBinding(task: catalog.tasks.first { $0.id == task }!, catalog: catalog)
    }

    /// A plan placing each module on the given devices (every other module of the catalog on `rest`).
    static func plan(epoch: Int, _ placement: [String: [String]], rest: [String] = ["box-a"]) -> PlanMessage {
        var full: [String: [String]] = [:]
        for module in catalog.modules { full[module.id] = placement[module.id] ?? rest }
        let devices = Array(Set(full.values.flatMap { $0 })).sorted()
        return PlanMessage(
            epoch: epoch, createdAtMs: 1, algorithm: "greedy", devices: devices, placement: full, routes: [:],
            predictedLatencyMs: [:], objectiveMs: 1, provenOptimal: false)
    }

    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01]

    /// The task inputs of a match-image-text request.
    static func matchInputs() -> [String: TensorBundle] {
        let request = TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: jpeg), "texts": .texts(["a cat", "a dog"])])
        return try! binding("match-image-text").inputValues(request.bundle())
    }

    /// Made-up outputs of `module` (labels for string `labels`, else one small tensor per output).
    static func outputs(of module: String) -> TensorBundle {
        var bundle = TensorBundle()
        for output in catalog.module(module)!.callOutputs {
            switch output.dtype {
            case "string":
                if output.name == "labels" { try! bundle.setTexts(["a cat", "a dog"], named: output.name) } else {
                    try! bundle.setText("hello", named: output.name)
                }
            case "int64": try! bundle.set(BundleTensor(int64s: [1, 2], shape: [1, 2]), named: output.name)
            default: try! bundle.set(BundleTensor(floats: output.name == "scores" ? [0.75, 0.25] : [0.5, 0.5], shape: [1, 2]), named: output.name)
            }
        }
        return bundle
    }

    /// A device's answer to `invocation`.
    static func answer(
        _ invocation: RequestExecution.Invocation, status: PartialResult.Status = .ok, error: String? = nil,
        device: String? = nil, nowMs: Int = 1_000
    ) -> (PartialResult, TensorBundle) {
        let partial = PartialResult(
            answering: invocation.request, device: device ?? invocation.device, status: status, error: error,
            queueWaitMs: 1, computeMs: status == .ok ? 2 : 0, receivedAtMs: nowMs, startedAtMs: nowMs, finishedAtMs: nowMs + 2)
        let bundle = try! partial.bundle(outputs: status == .ok ? outputs(of: invocation.request.module) : TensorBundle())
        return (partial, bundle)
    }
}

extension RequestExecution.Action {
    var invocation: RequestExecution.Invocation? {
        if case .invoke(let invocation) = self { return invocation }
        return nil
    }
}

extension Array where Element == RequestExecution.Action {
    var invocations: [RequestExecution.Invocation] { compactMap(\.invocation) }
}
