import Catalog
import Foundation

/// The ``ModuleCost`` of every distinct module of a catalog: built-ins cost ``ModuleCost/builtin``;
/// ONNX modules come from the cache in the models folder, and those missing are measured by the
/// `measure` the caller passes in (the CLI runs one fresh `s2m3 probe-module` child each) and added to it.
public enum CatalogCosts {
    /// Measures one ONNX module (its manifest): its memory, the p50 of one model run, and the
    /// speed of the measuring process in the device agents' calibration (GFLOP/s).
    public typealias Measure = @Sendable (ModuleManifest) async throws -> ModuleMeasurement

    /// Costs by *shared* module id (``ModuleCatalog/sharedID``), and whether anything was measured.
    public static func resolve(
        catalog: ModuleCatalog, modelsDirectory: String, measure: Measure
    ) async throws -> (costs: [String: ModuleCost], measured: [String], processBaseBytes: Int?) {
        var cache = ModuleCostCache.load(fromModels: modelsDirectory) ?? ModuleCostCache()
        var costs: [String: ModuleCost] = [:]
        var measured: [String] = []
        for module in catalog.modules where catalog.sharedID[module.id] == module.id {
            guard module.kind == .onnx else {
                costs[module.id] = .builtin
                continue
            }
            if let cached = cache.modules[module.digest] {
                costs[module.id] = cached
                continue
            }
            let measurement = try await measure(module)
            let runs = ModuleCost.modelRunsPerInvocation(driver: module.driver)
            let cost = ModuleCost.measured(
                residentBytes: measurement.residentBytes, p50Ms: measurement.p50Ms.map { $0 * runs },
                referenceGflops: measurement.referenceGflops)
            cache.modules[module.digest] = cost
            if measurement.baseBytes > 0 { cache.processBaseBytes = max(cache.processBaseBytes ?? 0, measurement.baseBytes) }
            costs[module.id] = cost
            measured.append(module.id)
        }
        if !measured.isEmpty { cache.save(toModels: modelsDirectory) }
        return (costs, measured, cache.processBaseBytes)
    }

    /// The tiny model that starts ONNX Runtime before a measurement (so its start-up is not
    /// charged to the module): `<cache>/onnxruntime-datasets/mul_1.onnx` next to the models folder.
    public static func runtimeWarmUpModel(modelsDirectory: String) -> String? {
        let path = ((modelsDirectory as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("onnxruntime-datasets/mul_1.onnx")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
