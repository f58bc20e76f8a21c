import Foundation
import Catalog
import Inference
import S2M3Core

/// Loads the modules of a catalog: ONNX files through their driver (`single-run`, `whisper-greedy`,
/// `vad-stream`, `ocr-detect`, `ocr-orient`, `ocr-recognise`), built-ins by operation name with their assets
/// (docs/catalog.md). Each call loads a new instance; ``LocalModules`` keeps one per process.
public struct ModuleLoader: Sendable {
    public let catalog: ModuleCatalog
    public let modelsDirectory: String
    public let configuration: InferenceSessionConfiguration
    /// The pool ONNX sessions run on (one per device agent or runner; its size bounds parallel runs).
    public let threadPool: InferenceThreadPool
    /// Pixels and seconds of audio the built-in decoders accept (checked from the headers
    /// before anything is decoded).
    public let limits: LimitsConfiguration

    public init(
        catalog: ModuleCatalog, modelsDirectory: String, configuration: InferenceSessionConfiguration = .init(),
        threadPool: InferenceThreadPool = InferenceThreadPool(threadCount: 1), limits: LimitsConfiguration = LimitsConfiguration()
    ) {
        self.catalog = catalog
        self.modelsDirectory = modelsDirectory
        self.configuration = configuration
        self.threadPool = threadPool
        self.limits = limits
    }

    /// Loads module `id`, checking the weights file against the catalog's digest first.
    public func load(_ id: String) async throws(ModuleError) -> any LoadedModule {
        guard let manifest = catalog.module(id) else {
            throw ModuleError(.unknownModule, module: id, "the catalog declares no module '\(id)'")
        }
        switch manifest.kind {
        case .onnx:
            let session = try await session(for: manifest)
            switch manifest.driver ?? ModuleManifest.singleRunDriver {
            case ModuleManifest.singleRunDriver: return SingleRunModule(manifest: manifest, session: session)
            case let driver: return try driverModule(manifest, driver: driver, session: session)
            }
        case .builtin:
            return try await builtinModule(manifest)
        }
    }

    func session(for manifest: ModuleManifest) async throws(ModuleError) -> InferenceSession {
        guard let path = manifest.filePath else {
            throw ModuleError(.missingFile, module: manifest.id, "an onnx module without a file")
        }
        guard let digest = manifest.currentContentSHA256() else {
            let missing = ([path] + manifest.externalDataPaths).filter { !FileManager.default.isReadableFile(atPath: $0) }
            throw ModuleError(
                .missingFile, module: manifest.id, input: missing.first ?? path,
                "\(missing.first ?? path) is missing: run scripts/setup.sh or check --models")
        }
        guard digest == manifest.contentSHA256 else {
            let files = ([path] + manifest.externalDataPaths).joined(separator: ", ")
            throw ModuleError(
                .digestMismatch, module: manifest.id, input: path,
                "\(files) have content sha256 \(digest), the catalog was loaded with \(manifest.contentSHA256): a file changed; re-run scripts/setup.sh")
        }
        do {
            return try await InferenceSession.load(modelPath: path, configuration: configuration, threadPool: threadPool)
        } catch {
            throw ModuleError(.runFailed, module: manifest.id, input: path, error.description)
        }
    }
}
