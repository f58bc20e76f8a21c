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

    @OptionGroup var modules: CatalogOptions

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Option(help: .hidden)
    var measureModule: String?

    @Option(help: .hidden)
    var runtimeWarmUp: String?

    /// JSON `[[inputs], [outputs]]` of the declared interface, checked against the model's own.
    @Option(help: .hidden)
    var expectInterface: String?

    func run() async throws {
        if let path = measureModule {
            let measured = try await ModuleMemoryProbe.measureAndInspect(modelPath: path, runtimeWarmUpModel: runtimeWarmUp)
            if let expectInterface {
                let declared = try JSONDecoder().decode([[TensorDeclaration]].self, from: Data(expectInterface.utf8))
                let problems = InterfaceCheck.mismatches(
                    inputs: declared[0], outputs: declared[1], modelInputs: measured.inputs, modelOutputs: measured.outputs)
                if !problems.isEmpty {
                    throw ValidationError("interfaceMismatch: the catalog's interface differs from \(path): \(problems.joined(separator: "; "))")
                }
            }
            print(measured.residentBytes)
            return
        }
        let modelsDirectory = modules.modelsDirectory
        let loaded = try ModuleCatalog.load(path: modules.catalog, modelsDirectory: modelsDirectory)
        // ONNX Runtime's per-process start-up, measured once by loading a tiny model, then excluded
        // from each module's figure (the module's child loads the tiny model first).
        let tiny = CacheDirectory.file("onnxruntime-datasets/mul_1.onnx")
        let warmUp = FileManager.default.fileExists(atPath: tiny) ? tiny : nil
        let runtimeBytes = try await warmUp.asyncMap { try await Self.measureInChild(file: $0, warmUp: nil, module: "runtime") }
        var memory: [String: Int] = [:]
        for module in loaded.modules where loaded.sharedID[module.id] == module.id {
            guard let file = module.filePath else { memory[module.id] = 0; continue }
            let interface = String(decoding: try JSONEncoder().encode([module.inputs, module.outputs]), as: UTF8.self)
            memory[module.id] = try await Self.measureInChild(
                file: file, warmUp: warmUp, interface: interface, module: module.id)
        }
        let report = SharingReport(catalog: loaded, memory: memory)
        if json {
            print(try CatalogReportText.json(catalog: loaded, memory: memory, report: report, runtimeBytes: runtimeBytes))
        } else {
            print(CatalogReportText.tables(catalog: loaded, memory: memory, report: report, runtimeBytes: runtimeBytes))
        }
    }

    /// Runs `s2m3 catalog --measure-module FILE` off the cooperative pool (the child blocks a thread).
    private static func measureInChild(
        file: String, warmUp: String?, interface: String? = nil, module: String
    ) async throws -> Int {
        let arguments = ["catalog", "--measure-module", file] + (warmUp.map { ["--runtime-warm-up", $0] } ?? [])
            + (interface.map { ["--expect-interface", $0] } ?? [])
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { () throws(CatalogError) in
                    try ModuleMemoryProbe.measureInChildProcess(
                        executable: "/proc/self/exe", arguments: arguments, module: module)
                })
            }
        }
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
