import Catalog
import Foundation
import TestSupport
import Testing

/// What the planner counts for a real module (`s2m3 probe-module --module … --timed`, a fresh
/// process each, real ONNX Runtime and weights): its working set at the largest inputs the catalog
/// allows, and how ONNX Runtime's memory settings keep or hand back that working set.
@Suite("Module memory (real models)", .serialized)
struct ModuleMemoryTests {
    static var models: String { TestPaths.cache.appendingPathComponent("models").path }
    static var catalog: String { TestPaths.repository.appendingPathComponent("catalog/default.json").path }
    static var tinyModel: String { TestPaths.cache.appendingPathComponent("onnxruntime-datasets/mul_1.onnx").path }

    static func measure(_ module: String, _ extra: [String] = []) async throws -> ModuleMeasurement {
        let outcome = try await S2M3Run.run(
            ["probe-module", "--module", module, "--catalog", catalog, "--models", models, "--runtime-warm-up", tinyModel, "--timed"] + extra,
            limit: .seconds(300))
        #expect(outcome.status == 0, "\(outcome.output)")
        let last = outcome.output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        return try #require(ModuleMeasurement(line: last), "probe printed: \(outcome.output)")
    }

    /// EfficientNet's trunk is batchable: its counted memory is its peak at a batch of 8 (the
    /// device's largest), which must exceed loading alone and the peak at a batch of 1 by at least
    /// the 7 extra images' input tensors (7 × 3 × 224 × 224 floats), which any run holds.
    @Test func countedMemoryCoversTheWorkingSetAtTheLargestBatch() async throws {
        let eight = try await Self.measure("effnet-lite0-trunk")
        let one = try await Self.measure("effnet-lite0-trunk", ["--batch", "1"])
        let image = 3 * 224 * 224 * 4
        #expect(eight.loadBytes >= 10_000_000, "the trunk's weights are ~13 MB: \(eight.line)")
        #expect(eight.residentBytes >= eight.loadBytes + 8 * image, "\(eight.line)")
        #expect(eight.residentBytes >= one.residentBytes + 7 * image, "batch 8 \(eight.line), batch 1 \(one.line)")
        #expect(eight.baseBytes > 0 && eight.settledBytes <= eight.residentBytes)
    }

    /// With ONNX Runtime's arena the working set stays resident after the runs; with the default
    /// settings (no arena, memory returned after each run) most of it goes back to the system.
    @Test func theDefaultSettingsHandTheWorkingSetBackAndTheArenaKeepsIt() async throws {
        let arena = try await Self.measure("effnet-lite0-trunk", ["--memory-settings", "arena"])
        let returned = try await Self.measure("effnet-lite0-trunk")
        func kept(_ m: ModuleMeasurement) -> Double {
            Double(max(0, m.settledBytes - m.loadBytes)) / Double(max(1, m.residentBytes - m.loadBytes))
        }
        #expect(kept(arena) > 0.7, "arena: \(arena.line)")
        #expect(kept(returned) < 0.3, "default: \(returned.line)")
        #expect(returned.settledBytes < arena.settledBytes)
    }
}
