import ArgumentParser
import Catalog
import Foundation
import LocalCluster

/// `s2m3 catalog`: validates the catalog, measures each module's memory in a fresh process (loaded
/// and run at the largest inputs the catalog allows) and
/// prints memory with and without sharing per task and for all tasks.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Show the module catalog: measured memory with and without sharing, per task and in total."
    )

    @OptionGroup var modules: CatalogOptions

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Flag(help: "Print each task's inputs and outputs (no measuring) instead.")
    var tasks = false

    func run() async throws {
        let modelsDirectory = modules.modelsDirectory
        let loaded = try ModuleCatalog.load(path: modules.catalog, modelsDirectory: modelsDirectory)
        if tasks {
            let interfaces = TaskInterface.all(in: loaded)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(interfaces), as: UTF8.self))
            } else {
                print(TaskInterface.markdownTable(interfaces), terminator: "")
            }
            return
        }
        // ONNX Runtime's per-process start-up, measured once by loading a tiny model, then excluded
        // from each module's figure (the module's child loads the tiny model first).
        let tiny = CacheDirectory.file("onnxruntime-datasets/mul_1.onnx")
        let warmUp = FileManager.default.fileExists(atPath: tiny) ? tiny : nil
        let runtimeBytes = try await warmUp.asyncMap { try await ModuleProbeChild.memory(file: $0, runtimeWarmUp: nil, module: "runtime") }
        var memory: [String: Int] = [:]
        for module in loaded.modules where loaded.sharedID[module.id] == module.id {
            guard module.filePath != nil else { memory[module.id] = 0; continue }
            let interface = String(decoding: try JSONEncoder().encode([module.inputs, module.outputs]), as: UTF8.self)
            memory[module.id] = try await ModuleProbeChild.measurement(
                module: module.id, catalog: modules.catalog, models: modelsDirectory, runtimeWarmUp: warmUp, interface: interface
            ).residentBytes
        }
        let report = SharingReport(catalog: loaded, memory: memory)
        if json {
            print(try CatalogReportText.json(catalog: loaded, memory: memory, report: report, runtimeBytes: runtimeBytes))
        } else {
            print(CatalogReportText.tables(catalog: loaded, memory: memory, report: report, runtimeBytes: runtimeBytes))
        }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
