import Catalog
import Foundation
import PlacementPlanning
import Planner
import S2M3Core
import Testing

/// The catalog → placement-instance conversion, the module-cost cache, and plans that serve only
/// some tasks. Pure: file hashes are injected, measurements are closures.
@Suite("Planner from the catalog")
struct CatalogPlacementTests {
    /// `trunk` and `trunk-copy` declare the same file contents and interface (one module);
    /// `head` is another file; `top` is a built-in. Two tasks use the trunk.
    static let document = """
        {"modules": [
          {"id": "trunk", "kind": "onnx", "file": "trunk.onnx",
           "inputs": [{"name": "image", "dtype": "float32", "shape": ["N", 3, 8, 8]}],
           "outputs": [{"name": "embedding", "dtype": "float32", "shape": ["N", 16]}]},
          {"id": "trunk-copy", "kind": "onnx", "file": "trunk-again.onnx",
           "inputs": [{"name": "image", "dtype": "float32", "shape": ["N", 3, 8, 8]}],
           "outputs": [{"name": "embedding", "dtype": "float32", "shape": ["N", 16]}]},
          {"id": "head", "kind": "onnx", "file": "head.onnx",
           "inputs": [{"name": "embedding", "dtype": "float32", "shape": ["N", 16]}],
           "outputs": [{"name": "logits", "dtype": "float32", "shape": ["N", 10]}]},
          {"id": "top", "kind": "builtin", "operation": "top-k",
           "inputs": [{"name": "logits", "dtype": "float32", "shape": ["N", 10]}],
           "outputs": [{"name": "labels", "dtype": "string", "shape": ["N", "K"]}]}
        ],
        "tasks": [
          {"id": "classify", "inputs": ["image"], "nodes": [
            {"id": "t", "module": "trunk", "inputs": ["image"]},
            {"id": "h", "module": "head", "inputs": ["t"]},
            {"id": "k", "module": "top", "inputs": ["h"]}]},
          {"id": "embed", "inputs": ["image"], "nodes": [
            {"id": "e", "module": "trunk-copy", "inputs": ["image"]}]}
        ]}
        """

    static func catalog() throws -> ModuleCatalog {
        let document = try JSONDecoder().decode(CatalogDocument.self, from: Data(document.utf8))
        let hashes = ["trunk.onnx": "aa", "trunk-again.onnx": "aa", "head.onnx": "bb"]
        return try ModuleCatalog(document: document, modelsDirectory: "/models") { path in
            hashes[(path as NSString).lastPathComponent]
        }
    }

    static let costs: [String: ModuleCost] = [
        "trunk": ModuleCost(residentBytes: 40_000_000, p50Ms: 20, gflop: 0.2),
        "head": ModuleCost(residentBytes: 5_000_000, p50Ms: 1, gflop: 0.01),
    ]

    @Test func oneModulePerDigestWithMeasuredCostsAndCatalogDigests() throws {
        let catalog = try Self.catalog()
        let converted = CatalogPlacement(catalog: catalog, costs: Self.costs)
        let instance = converted.instance
        #expect(instance.modules.map(\.id) == ["trunk", "head", "top"])
        #expect(instance.modules.map(\.memoryBytes) == [40_000_000, 5_000_000, 0])
        #expect(instance.modules.map(\.gflop) == [0.2, 0.01, ModuleCost.builtin.gflop])
        // Outputs: N leads (1); float32 [1,16] = 64 bytes; string [1,K=32] = 32 × 64 bytes.
        #expect(instance.modules.map(\.outputBytes) == [64, 40, 2048])
        #expect(converted.digests["trunk"] == catalog.module("trunk")?.digest)
        #expect(converted.digests["head"] == catalog.module("head")?.digest)
        #expect(converted.digests["trunk-copy"] == nil)
        let embed = try #require(instance.tasks.first { $0.id == "embed" })
        #expect(embed.graph.nodes.map(\.module) == ["trunk"])  // the copy is the shared module
        #expect(embed.graph.inputs == [TaskGraph.Input(id: "image", bytes: CatalogPlacement.inputBytes("image"))])
        let classify = try #require(instance.tasks.first { $0.id == "classify" })
        #expect(classify.graph.nodes.map(\.module) == ["trunk", "head", "top"])
        try instance.validate()
        #expect(converted.moduleMemory.total == 45_000_000)
        #expect(converted.moduleMemory.largest == 40_000_000)
    }

    @Test func assignmentsCarryTheCatalogDigest() throws {
        let converted = CatalogPlacement(catalog: try Self.catalog(), costs: Self.costs)
        var machine = PlannerStateMachine(instance: converted.instance, digests: converted.digests)
        Self.join(&machine, "box-1", memory: 100_000_000)
        let actions = machine.plan(nowMs: 1)
        let assignment = try #require(actions.compactMap { if case .publishAssignment(let a) = $0 { a } else { nil } }.first)
        #expect(Set(assignment.modules.map(\.module)) == ["trunk", "head", "top"])
        for hosted in assignment.modules {
            #expect(hosted.digest == converted.digests[hosted.module])
            #expect(!hosted.digest.hasPrefix("instance-fnv1a64:"))
        }
    }

    @Test func tasksThatDoNotFitAreUnavailableAndTheRestServed() throws {
        let converted = CatalogPlacement(catalog: try Self.catalog(), costs: Self.costs)
        var machine = PlannerStateMachine(instance: converted.instance, digests: converted.digests)
        // 42 MB: the trunk fits, trunk + head do not; so `embed` is served and `classify` is not.
        Self.join(&machine, "box-1", memory: 42_000_000)
        let plan = try #require(machine.plan(nowMs: 1).compactMap { if case .publishPlan(let p) = $0 { p } else { nil } }.first)
        try plan.validate()
        #expect(plan.routes.keys.sorted() == ["embed"])
        #expect(plan.unavailableTasks?.keys.sorted() == ["classify"])
        #expect(plan.placement["trunk"] == ["box-1"])
        #expect(plan.placement["head"] == nil)
    }

    @Test func aModuleLargerThanEveryDeviceIsNamedInTheReason() throws {
        let converted = CatalogPlacement(catalog: try Self.catalog(), costs: Self.costs)
        var machine = PlannerStateMachine(instance: converted.instance)
        Self.join(&machine, "box-1", memory: 10_000_000)
        let plan = try #require(machine.plan(nowMs: 1).compactMap { if case .publishPlan(let p) = $0 { p } else { nil } }.first)
        try plan.validate()
        #expect(plan.routes.isEmpty)
        #expect(plan.unavailableTasks?.keys.sorted() == ["classify", "embed"])
        #expect(plan.unavailableTasks?["embed"]?.contains("trunk") == true)
    }

    @Test func costsAreMeasuredOncePerDigestThenCached() async throws {
        let catalog = try Self.catalog()
        let models = NSTemporaryDirectory() + "module-costs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: models) }
        let calls = Counter()
        let measure: CatalogCosts.Measure = { module in
            calls.add(module.id)
            return ModuleMeasurement(
                residentBytes: module.id == "trunk" ? 40_000_000 : 5_000_000, p50Ms: module.id == "trunk" ? 20 : nil,
                referenceGflops: 100)
        }
        let first = try await CatalogCosts.resolve(catalog: catalog, modelsDirectory: models, measure: measure)
        #expect(calls.ids.sorted() == ["head", "trunk"])  // not the copy, not the built-in
        #expect(first.measured.sorted() == ["head", "trunk"])
        #expect(first.costs["trunk"] == ModuleCost(residentBytes: 40_000_000, p50Ms: 20, gflop: 2.0))
        // No timing: compute from memory, 2 FLOP per 4-byte parameter.
        #expect(first.costs["head"]?.gflop == 5_000_000.0 / 4 * 2 / 1e9)
        #expect(first.costs["top"] == .builtin)
        let second = try await CatalogCosts.resolve(catalog: catalog, modelsDirectory: models, measure: measure)
        #expect(calls.ids.count == 2)
        #expect(second.measured.isEmpty)
        #expect(second.costs == first.costs)
        let cache = try #require(ModuleCostCache.load(fromModels: models))
        #expect(Set(cache.modules.keys) == [catalog.module("trunk")!.digest, catalog.module("head")!.digest])
    }

    static func join(_ machine: inout PlannerStateMachine, _ device: String, memory: Int) {
        machine.handle(.capabilities(DeviceCapabilities(
            device: device, session: "s1", memoryBudgetBytes: memory, computeGflops: 10, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)))
        machine.handle(.state(DeviceState(device: device, status: .online, session: "s1", timestampMs: 1)))
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [String] = []
    func add(_ id: String) { lock.withLock { calls.append(id) } }
    var ids: [String] { lock.withLock { calls } }
}
