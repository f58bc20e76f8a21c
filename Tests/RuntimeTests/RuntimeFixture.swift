import Catalog
import Foundation
import Inference
import Runtime
import S2M3Core
import TestSupport
import Testing

/// Every suite of this target, run one test at a time: the real models keep a core busy, and other
/// targets' timing-sensitive tests (reconnects, cancellation) run in the same process at the same time.
@Suite(.serialized) enum RuntimeSuites {}

/// The default catalog on the set-up's models, loaded once for the whole test process: every suite
/// shares one ``LocalModules``, so each model is loaded once.
struct RuntimeFixture: Sendable {
    static let shared = RuntimeFixture()

    let modelsDirectory: String
    let fixtures = TestPaths.cache.appendingPathComponent("fixtures")
    let catalog: Result<ModuleCatalog, CatalogError>
    let modules: LocalModules?

    private init() {
        let path = TestPaths.repository.appendingPathComponent("catalog/default.json").path
        let models = TestPaths.cache.appendingPathComponent("models").path
        modelsDirectory = models
        let catalog = Result { () throws(CatalogError) in try ModuleCatalog.load(path: path, modelsDirectory: models) }
        self.catalog = catalog
        modules = (try? catalog.get()).map {
            LocalModules(loader: ModuleLoader(
                catalog: $0, modelsDirectory: models, threadPool: InferenceThreadPool(threadCount: 1, name: "runtime-tests")))
        }
    }

    func loaded() throws -> (ModuleCatalog, LocalModules) {
        let catalog = try catalog.get()
        guard let modules else { throw CatalogError(.missingFile, entry: "", "no modules") }
        return (catalog, modules)
    }

    func file(_ name: String) throws -> [UInt8] {
        let url = fixtures.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CatalogError(.missingFile, entry: name, "missing fixture \(url.path): run scripts/setup.sh with the same S2M3_CACHE")
        }
        return [UInt8](data)
    }

    /// Runs `task` on `inputs` in this process.
    func run(_ task: String, _ inputs: [String: TaskInput]) async throws -> TaskResult {
        let (catalog, modules) = try loaded()
        guard let entry = catalog.tasks.first(where: { $0.id == task }) else {
            throw CatalogError(.invalidTask, entry: task, "no such task")
        }
        let binding = try TaskBinding(task: entry, catalog: catalog)
        let request = try TaskRequest(requestID: "test", task: task, inputs: inputs).bundle()
        return try await TaskRunner(modules: modules).run(binding, request: request)
    }

    func image(_ name: String) throws -> TaskInput {
        let bytes = try file(name)
        return .media(contentType: MediaType.sniff(bytes) ?? MediaType.jpeg, bytes: bytes)
    }

    func audio(_ name: String) throws -> TaskInput { .media(contentType: MediaType.wav, bytes: try file(name)) }

    /// `speech.txt`: fixture file → spoken text.
    func spokenTexts() throws -> [String: String] {
        let text = String(decoding: try file("speech.txt"), as: UTF8.self)
        var texts: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 { texts[String(parts[0])] = String(parts[1]) }
        }
        return texts
    }
}
