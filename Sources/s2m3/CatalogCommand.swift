import ArgumentParser
import Catalog
import Foundation

/// `s2m3 catalog`: validates the catalog, measures each module's memory in a fresh process and
/// prints memory with and without sharing per task and for all tasks.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Show the module catalog: measured memory with and without sharing, per task and in total."
    )

    @Option(help: "The catalog file.")
    var catalog = "catalog/default.json"

    @Option(help: "Folder of the module files (default: ${S2M3_CACHE:-.cache}/models).")
    var models: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Option(help: .hidden)
    var measureModule: String?

    func run() async throws {
        if let path = measureModule {
            print(try await ModuleMemoryProbe.measureHere(modelPath: path))
            return
        }
        let cache = ProcessInfo.processInfo.environment["S2M3_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? ".cache"
        let modelsDirectory = models ?? (cache as NSString).appendingPathComponent("models")
        let loaded = try ModuleCatalog.load(path: catalog, modelsDirectory: modelsDirectory)
        var memory: [String: Int] = [:]
        for module in loaded.modules where loaded.sharedID[module.id] == module.id {
            guard let file = module.filePath else { memory[module.id] = 0; continue }
            memory[module.id] = try await Self.measureInChild(file: file, module: module.id)
        }
        let report = SharingReport(catalog: loaded, memory: memory)
        if json {
            print(try CatalogReportText.json(catalog: loaded, memory: memory, report: report))
        } else {
            print(CatalogReportText.tables(catalog: loaded, memory: memory, report: report))
        }
    }

    /// Runs `s2m3 catalog --measure-module FILE` off the cooperative pool (the child blocks a thread).
    private static func measureInChild(file: String, module: String) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { () throws(CatalogError) in
                    try ModuleMemoryProbe.measureInChildProcess(
                        executable: "/proc/self/exe", arguments: ["catalog", "--measure-module", file], module: module)
                })
            }
        }
    }
}
