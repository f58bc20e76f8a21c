import Catalog
import Foundation
import S2M3Core
import TestSupport
import Testing

/// Warm-up on load (docs/device-agent.md): the agent runs each module once on a dummy input of its
/// declared shapes before it reports the module loaded.
@Suite("Device agent warm-up")
struct DeviceAgentWarmUpTests {
    /// The first invocation after `applied` costs about what the following ones do: ONNX Runtime's
    /// first-run work was done by the warm-up. Compared by the device's own compute time, on three
    /// fresh agents (one sample each is at the mercy of a shared machine's load): the median of their
    /// first-to-rest ratios must be at most 1.5 (generous). An agent started with `--no-warm-up` is
    /// measured too, for the record.
    @Test(.timeLimit(.minutes(3)))
    func firstInvocationIsAsFastAsTheRest() async throws {
        var ratios: [Double] = []
        for index in 0..<3 {
            let warm = try await Self.firstAndMedian(device: "box-w\(index)", arguments: [])
            print("effnet-lite0-trunk on a device with warm-up: first invocation \(warm.first) ms, the next nine's median \(warm.median) ms")
            ratios.append(warm.first / warm.median)
        }
        let cold = try await Self.firstAndMedian(device: "box-c", arguments: ["--no-warm-up"])
        print("effnet-lite0-trunk on a device with --no-warm-up: first invocation \(cold.first) ms, the next nine's median \(cold.median) ms")
        let ratio = ratios.sorted()[1]
        #expect(ratio <= 1.5, "first-to-rest ratios with warm-up: \(ratios)")
    }

    /// The device's compute time of the first of ten invocations of the EfficientNet trunk, and the
    /// median of the other nine.
    static func firstAndMedian(device: String, arguments: [String]) async throws -> (first: Double, median: Double) {
        let catalog = try AgentHarness.catalog()
        let module = "effnet-lite0-trunk"
        let digest = try #require(catalog.module(module)).digest
        let times = ComputeTimes()
        try await AgentHarness.with(device: device, arguments: ["--memory", "1GiB", "--compute-gflops", "10"] + arguments) { agent in
            try await agent.assign(epoch: 1, [.init(module: module, digest: digest, memoryBytes: 60_000_000)])
            _ = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            var image = TensorBundle()
            try image.set(BundleTensor(floats: [Float](repeating: 0.25, count: 3 * 224 * 224), shape: [1, 3, 224, 224]), named: "image")
            for index in 0..<10 {
                try await agent.invoke(module, requestID: "run-\(index)", inputs: image)
                let (partial, _, _) = try await agent.partial("run-\(index)")
                #expect(partial.status == .ok)
                await times.append(partial.computeMs)
            }
        }
        let computeMs = await times.values
        try #require(computeMs.count == 10)
        let rest = computeMs.dropFirst().sorted()
        return (computeMs[0], rest[rest.count / 2])
    }

    /// A module that cannot run its own declared shapes fails its warm-up: the assignment is refused
    /// with the reason, nothing is announced for it, and the agent keeps running and applying.
    @Test(.timeLimit(.minutes(2)))
    func warmUpFailureIsALoadFailure() async throws {
        var document = try JSONDecoder().decode(CatalogDocument.self, from: Data(contentsOf: URL(fileURLWithPath: AgentHarness.catalogPath)))
        var head = try #require(document.modules.first { $0.id == "imagenet-head" })
        head.id = "bad-head"
        head.inputs = [TensorDeclaration(name: "embedding", dtype: "float32", shape: [.fixed(1), .fixed(1000)])]  // the file takes 1280
        document.modules = [head]
        document.tasks = []
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("warm-up-catalog-\(getpid()).json").path
        try JSONEncoder().encode(document).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let digest = try #require(try ModuleCatalog(document: document, modelsDirectory: AgentHarness.modelsDirectory).module("bad-head")).digest
        try await AgentHarness.with(device: "box-x", arguments: ["--memory", "100MB"], catalog: path) { agent in
            try await agent.assign(epoch: 1, [.init(module: "bad-head", digest: digest, memoryBytes: 10_000_000)])
            let refused = try await agent.telemetry("epoch 1 refused") { $0.assignment?.epoch == 1 && $0.assignment?.status == .refused }
            #expect(refused.assignment?.reason?.contains("warming up module 'bad-head' failed") == true, "\(String(describing: refused.assignment))")
            #expect(refused.loadedModules.isEmpty)
            #expect(!agent.child.hasExited)
            try await agent.assign(epoch: 2, [])
            let applied = try await agent.telemetry("epoch 2 applied") { $0.assignment == .init(epoch: 2, status: .applied) }
            #expect(applied.loadedModules.isEmpty)
        }
    }
}

/// The compute times recorded inside the harness's closure.
actor ComputeTimes {
    private(set) var values: [Double] = []
    func append(_ value: Double) { values.append(value) }
}
