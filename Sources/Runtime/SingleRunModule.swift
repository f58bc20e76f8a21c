import Catalog
import Inference
import S2M3Core

/// The default `onnx` driver: one run, inputs and outputs as the catalog declares them.
struct SingleRunModule: LoadedModule {
    let manifest: ModuleManifest
    let session: InferenceSession

    /// Symbols at 1, except a sequence length `T` of 16 tokens.
    func warmUp() async throws(ModuleError) { try await runOnDummyInputs(sizes: ["T": 16]) }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        _ = try ModuleInputs(inputs, manifest: manifest)
        var feeds: [String: Tensor] = [:]
        for declaration in manifest.inputs {
            guard let tensor = inputs[declaration.name] else {
                throw ModuleError(.missingInput, module: manifest.id, input: declaration.name, "the invocation has no '\(declaration.name)'")
            }
            feeds[declaration.name] = try tensor.engineTensor(module: manifest.id, input: declaration.name)
        }
        let results: [String: Tensor]
        do {
            results = try await session.run(inputs: feeds, outputs: manifest.outputs.map(\.name))
        } catch {
            throw ModuleError(error, module: manifest.id)
        }
        var outputs = TensorBundle()
        for declaration in manifest.outputs {
            guard let tensor = results[declaration.name] else {
                throw ModuleError(.runFailed, module: manifest.id, "the model answered no '\(declaration.name)'")
            }
            do {
                try outputs.set(BundleTensor(tensor, module: manifest.id), named: declaration.name)
            } catch {
                throw ModuleError(.runFailed, module: manifest.id, "\(error)")
            }
        }
        return outputs
    }
}
