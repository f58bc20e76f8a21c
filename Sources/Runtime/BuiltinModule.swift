import Catalog
import Foundation
import Inference
import Preprocessing
import S2M3Core

/// A built-in operation: Swift work on one invocation's checked inputs.
protocol BuiltinOperation: Sendable {
    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError)
}

/// A `builtin` module: its operation runs on the loader's inference thread pool (decoding, FFTs and
/// resizing are CPU work that must not hold the cooperative pool).
struct BuiltinModule: LoadedModule {
    let manifest: ModuleManifest
    let operation: any BuiltinOperation
    let pool: InferenceThreadPool

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let manifest = manifest, operation = operation
        let result: Result<TensorBundle, ModuleError> = await pool.execute {
            Result { () throws(ModuleError) -> TensorBundle in
                let checked = try ModuleInputs(inputs, manifest: manifest)
                var outputs = ModuleOutputs(module: manifest.id)
                try operation(checked, &outputs)
                return outputs.bundle
            }
        }
        return try result.get()
    }
}

extension ModuleError {
    /// A pre-processing failure of `input`: unusable data is `badInput`, anything else `runFailed`.
    init(_ error: PreprocessingError, module: String, input: String) {
        let bad: Set<PreprocessingError.Code> = [.emptyInput, .unsupportedImage, .corruptImage, .notWAV, .unsupportedAudio, .corruptAudio, .tooLarge]
        self.init(bad.contains(error.code) ? .badInput : .runFailed, module: module, input: input, "\(error.code): \(error.message)")
    }

    /// An engine failure while running `module`'s model.
    init(_ error: InferenceError, module: String) {
        let code: ModuleError.Code = [.wrongElementType, .wrongShape].contains(error.code) ? .wrongInput : .runFailed
        self.init(code, module: module, error.description)
    }

    /// Runs a driver's engine work for `module`: a ``ModuleError`` passes through, an
    /// ``InferenceError`` becomes one (``init(_:module:)``), anything else is `runFailed`.
    static func catching<T>(module: String, _ body: () async throws -> T) async throws(ModuleError) -> T {
        do {
            return try await body()
        } catch let error as ModuleError {
            throw error
        } catch let error as InferenceError {
            throw ModuleError(error, module: module)
        } catch {
            throw ModuleError(.runFailed, module: module, "\(error)")
        }
    }
}

/// Reading a built-in's asset files (listed in the catalog, resolved against the models folder).
enum ModuleAssets {
    static func path(_ name: String, of manifest: ModuleManifest) throws(ModuleError) -> String {
        guard let path = manifest.assetPaths.first(where: { ($0 as NSString).lastPathComponent == name }) else {
            throw ModuleError(.missingFile, module: manifest.id, input: name, "the catalog lists no asset '\(name)' for this module (see docs/catalog.md)")
        }
        return path
    }

    static func text(_ name: String, of manifest: ModuleManifest) throws(ModuleError) -> String {
        let path = try path(name, of: manifest)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ModuleError(.missingFile, module: manifest.id, input: path, "\(path) is missing or not UTF-8: run scripts/setup.sh or check --models")
        }
        return text
    }

    /// Lines of a text asset (split on `\n` only; a final empty line dropped).
    static func lines(_ name: String, of manifest: ModuleManifest) throws(ModuleError) -> [String] {
        var lines = try text(name, of: manifest).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
