import Catalog
import Foundation
import Runtime
import S2M3Core
import TestSupport
import Testing

/// `s2m3 serve`'s batching: concurrent calls of a batchable module that wait while it runs run
/// together (``BatchingModule``), and each gets what it would have got alone.
@Suite("Batching module in one process")
struct BatchingModuleTests {
    static func catalog() throws -> ModuleCatalog {
        try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path,
            modelsDirectory: TestPaths.cache.appendingPathComponent("models").path)
    }

    static func image(_ generator: inout some RandomNumberGenerator) throws -> TensorBundle {
        var values = [Float](repeating: 0, count: 3 * 224 * 224)
        for index in values.indices { values[index] = Float.random(in: -2...2, using: &generator) }
        return try TensorBundle(tensors: ["image": BundleTensor(floats: values, shape: [1, 3, 224, 224])])
    }

    /// Eight concurrent calls of the real EfficientNet trunk: fewer model runs than calls, and every
    /// call's embedding equal to the same image run alone within 1e-5, a call of two images too.
    @Test func concurrentCallsRunTogetherAndEachGetsItsOwnRows() async throws {
        let catalog = try Self.catalog()
        let modelsDirectory = TestPaths.cache.appendingPathComponent("models").path
        let alone = try await ModuleLoader(catalog: catalog, modelsDirectory: modelsDirectory).load("effnet-lite0-trunk")
        let batching = try #require(
            try await LocalModules(loader: ModuleLoader(catalog: catalog, modelsDirectory: modelsDirectory), maxBatch: 8)
                .module("effnet-lite0-trunk") as? BatchingModule)
        var generator = SystemRandomNumberGenerator()
        let images = try (0..<8).map { _ in try Self.image(&generator) }
        var expected: [[Float]] = []
        for input in images { expected.append(try #require(try await alone.run(input)["embedding"]).floats()) }
        // A call of two images at once: it joins with its two rows.
        let odd = try TensorBundle(tensors: ["image": BundleTensor(
            floats: try images[0...1].flatMap { try #require($0["image"]).floats() }, shape: [2, 3, 224, 224])])
        let oddAlone = expected[0] + expected[1]

        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, input) in (images + [odd]).enumerated() {
                group.addTask { (index, try #require(try await batching.run(input)["embedding"]).floats()) }
            }
            return try await group.reduce(into: [Int: [Float]]()) { $0[$1.0] = $1.1 }
        }
        for (index, rows) in results {
            let reference = index < images.count ? expected[index] : oddAlone
            #expect(rows.count == reference.count && !rows.isEmpty)
            let worst = zip(rows, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "call \(index): largest difference \(worst)")
        }
        let (runs, calls) = (await batching.runs, await batching.calls)
        #expect(calls == 9)
        #expect(runs < calls, "\(runs) runs for \(calls) calls: nothing was batched")
    }

    @Test func onlyBatchableModulesAreWrapped() async throws {
        let catalog = try Self.catalog()
        let modules = LocalModules(
            loader: ModuleLoader(catalog: catalog, modelsDirectory: TestPaths.cache.appendingPathComponent("models").path), maxBatch: 8)
        #expect(try await modules.module("effnet-lite0-trunk") is BatchingModule)
        #expect(!(try await modules.module("whisper-tiny-encoder") is BatchingModule))
        let single = LocalModules(loader: ModuleLoader(catalog: catalog, modelsDirectory: TestPaths.cache.appendingPathComponent("models").path))
        #expect(!(try await single.module("effnet-lite0-trunk") is BatchingModule))
    }
}
