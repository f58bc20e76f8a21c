import ArgumentParser
import Catalog
import Foundation
import Inference
import Runtime
import S2M3Core

/// `s2m3 run <task>`: runs one task of the catalog in this process (no broker): the accuracy
/// reference for distributed execution.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a task of the catalog in this process (no broker) and print its result and timeline.",
        discussion: "Example: s2m3 run classify-image --image photo.jpg"
    )

    @Argument(help: "The task (see `s2m3 catalog`).")
    var task: String

    @OptionGroup var inputs: TaskInputOptions

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Inference threads (parallel branches run at once up to this many).")
    var threads = 2

    @Flag(help: "Print the result as TaskResult JSON (schema s2m3.task-result/1).")
    var json = false

    func run() async throws {
        let modelsDirectory = modules.modelsDirectory
        let loaded: ModuleCatalog
        do { loaded = try ModuleCatalog.load(path: modules.catalog, modelsDirectory: modelsDirectory) } catch {
            throw RunCommandError("\(error.code): \(error.message)")
        }
        guard let entry = loaded.tasks.first(where: { $0.id == task }) else {
            throw ValidationError("no task '\(task)' in \(modules.catalog); tasks: \(loaded.tasks.map(\.id).joined(separator: ", "))")
        }
        let values = try inputs.inputs(
            for: entry.graph.inputs.map(\.id), optional: Set(entry.defaults.keys),
            tensors: TaskInterface.tensorDeclarations(of: entry, in: loaded), task: task)
        let request = try TaskRequest(requestID: "local", task: task, inputs: values).bundle()
        let binding = try TaskBinding(task: entry, catalog: loaded)
        let loader = ModuleLoader(
            catalog: loaded, modelsDirectory: modelsDirectory,
            threadPool: InferenceThreadPool(threadCount: max(1, threads), name: "s2m3-run"))
        let modules = LocalModules(loader: loader)
        do { try await modules.preload(binding.nodes.map(\.module)) } catch {
            throw RunCommandError("\(error.code.rawValue): \(error.description)")
        }
        let runner = TaskRunner(modules: modules)
        let result: TaskResult
        do { result = try await runner.run(binding, request: request) } catch {
            let code = error.moduleError.map { $0.code.rawValue } ?? error.bindingError.map { $0.code.rawValue } ?? error.code.rawValue
            throw RunCommandError("\(code): \(error.message)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print(TaskResultText.text(result, outputOrder: entry.outputNodes, timeline: .local))
        }
    }

    /// `${S2M3_CACHE:-.cache}/models` (``CacheDirectory/models``).
    static var defaultModelsDirectory: String { CacheDirectory.models }
}

struct RunCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
