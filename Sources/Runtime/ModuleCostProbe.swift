import Catalog
import Foundation
import Inference

/// Measures a module's ``ModuleCost`` in a fresh process: the resident memory it needs loaded and
/// running at its largest inputs (``ModuleMemoryProbe``, after a tiny model has started ONNX Runtime) and the median time of a
/// few runs on synthetic inputs (zeros shaped by the model's own interface; a symbolic dimension is
/// 1 when it leads, else 32). A module that cannot run on zeros (e.g. one that checks a sample
/// rate input) gets no timing, and its compute is estimated from its memory.
///
/// GFLOP = p50 × the speed the same child measures with the device agents' own calibration (a
/// matrix multiply in ONNX Runtime on one thread), so that a device's announced `computeGflops`
/// predicts the module's time on it, and the planner's drift calibration agrees.
public enum ModuleCostProbe {
    /// Timed runs after one untimed.
    static let runs = 5

    /// Zeros for every input; symbolic dimensions become 1 (leading) or 32.
    static func syntheticInputs(_ specs: [TensorSpec]) throws(InferenceError) -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        for spec in specs {
            let shape = spec.shape.enumerated().map { index, size in size ?? (index == 0 ? 1 : 32) }
            let count = shape.reduce(1, *)
            switch spec.elementType {
            case .float32: inputs[spec.name] = try Tensor(float32: Array(repeating: 0, count: count), shape: shape)
            case .int64: inputs[spec.name] = try Tensor(int64: Array(repeating: 0, count: count), shape: shape)
            case .int32: inputs[spec.name] = try Tensor(int32: Array(repeating: 0, count: count), shape: shape)
            case .uint8: inputs[spec.name] = try Tensor(uint8: Array(repeating: 0, count: count), shape: shape)
            case .bool: inputs[spec.name] = try Tensor(bool: Array(repeating: false, count: count), shape: shape)
            default: throw InferenceError(.unsupportedType, "no synthetic value for input \(spec.name)")
            }
        }
        return inputs
    }

    /// Measures catalog module `id` in this process as the measuring child does: its memory
    /// (``ModuleMemoryProbe/measureModule(_:loader:bounds:runs:)``, after `runtimeWarmUpModel` has
    /// started ONNX Runtime), the p50 of one model run on synthetic inputs (a second session of the
    /// same configuration, loaded after the memory was read) and the calibrated speed of this process.
    public static func measureModule(
        _ id: String, loader: ModuleLoader, bounds: LargestInputs, runtimeWarmUpModel: String?
    ) async throws -> ModuleMeasurement {
        var runtimeWarmUp: InferenceSession?
        if let runtimeWarmUpModel { runtimeWarmUp = try await InferenceSession.load(modelPath: runtimeWarmUpModel) }
        defer { withExtendedLifetime(runtimeWarmUp) {} }
        let (memory, module) = try await ModuleMemoryProbe.measureModule(id, loader: loader, bounds: bounds)
        defer { withExtendedLifetime(module) {} }
        var p50: Double?
        if let path = module.manifest.filePath {
            let session = try await InferenceSession.load(modelPath: path, configuration: loader.configuration)
            p50 = await timeRuns(session)
        }
        return ModuleMeasurement(
            residentBytes: memory.peakBytes, p50Ms: p50, referenceGflops: try await ComputeCalibration.run().gflops,
            loadBytes: memory.loadBytes, settledBytes: min(memory.settledBytes, memory.peakBytes), baseBytes: memory.baseBytes)
    }

    /// The p50 of ``runs`` runs on ``syntheticInputs(_:)`` after one untimed; nil when a run fails.
    static func timeRuns(_ session: InferenceSession) async -> Double? {
        guard let inputs = try? syntheticInputs(session.inputs) else { return nil }
        do {
            _ = try await session.run(inputs: inputs)
            var times: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                _ = try await session.run(inputs: inputs)
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            return times.sorted()[times.count / 2]
        } catch {
            return nil
        }
    }

    /// Runs `executable arguments…` (normally `s2m3 probe-module FILE --timed`), which prints
    /// ``ModuleMeasurement/line`` as its last line. Blocks the calling thread.
    public static func measureInChildProcess(executable: String, arguments: [String], module: String) throws(CatalogError) -> ModuleMeasurement {
        try ModuleMemoryProbe.lastLineOfChild(executable: executable, arguments: arguments, module: module, measuring: "the module") {
            ModuleMeasurement(line: $0)
        }
    }
}
