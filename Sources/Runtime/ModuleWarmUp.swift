import Catalog
import S2M3Core

/// Warm-up on load: a device runs each module once on a dummy input of its declared call shapes after
/// loading it and before announcing it (docs/device-agent.md), so that ONNX Runtime's first-run work
/// (allocating its arena, preparing kernels) is not paid by the first request.
extension LoadedModule {
    /// Runs the module once on ``ModuleWarmUp/inputs(for:sizes:)`` (zeros; integers 1) and throws its
    /// error, if any: a module that cannot run its own declared shapes is not worth announcing.
    func runOnDummyInputs(sizes: [String: Int]) async throws(ModuleError) {
        _ = try await run(try ModuleWarmUp.inputs(for: manifest, sizes: sizes))
    }
}

public enum ModuleWarmUp {
    /// A bundle of the module's call inputs: each symbolic dimension from `sizes` (1 when absent);
    /// floats 0, integers 1 (a valid token id, mask, or width), bytes 0 (a black page).
    public static func inputs(for manifest: ModuleManifest, sizes: [String: Int]) throws(ModuleError) -> TensorBundle {
        var outputs = ModuleOutputs(module: manifest.id)
        for declaration in manifest.callInputs {
            let shape = declaration.shape.map { dimension -> Int in
                switch dimension {
                case .fixed(let size): size
                case .symbol(let name): sizes[name] ?? 1
                }
            }
            let count = shape.reduce(1, *)
            switch declaration.dtype {
            case "float32": try outputs.set(declaration.name, floats: [Float](repeating: 0, count: count), shape: shape)
            case "int64": try outputs.set(declaration.name, int64s: [Int64](repeating: 1, count: count), shape: shape)
            case "uint8":
                do {
                    try outputs.set(declaration.name, tensor: try BundleTensor(uint8s: [UInt8](repeating: 0, count: count), shape: shape))
                } catch {
                    throw ModuleError(.runFailed, module: manifest.id, input: declaration.name, "cannot make a warm-up input: \(error)")
                }
            default:
                throw ModuleError(
                    .wrongInput, module: manifest.id, input: declaration.name, "no warm-up input of dtype \(declaration.dtype)")
            }
        }
        return outputs.bundle
    }
}
