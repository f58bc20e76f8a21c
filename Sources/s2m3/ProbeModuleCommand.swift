import ArgumentParser
import Catalog
import Foundation
import Inference
import LocalCluster
import Planner
import Runtime
import ServiceSupport

/// `s2m3 probe-module`: measures one module in this (fresh) process and prints the figures as its
/// last line. `s2m3 catalog`, `s2m3 planner`, `s2m3 up` and `s2m3 bench modules --memory` run it as
/// a child per module, because memory freed by one module is not always returned to the system
/// (docs/engine.md); the libraries take the measuring command from their caller (``ModuleProbeChild``).
struct ProbeModuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-module",
        abstract: "Measure one module in this process (run as a child by catalog, planner, up and bench).",
        discussion: """
            With --module: the catalog module loaded with its driver and run at the largest inputs \
            the catalog allows; prints its peak resident bytes, or with --timed \
            `peakBytes p50Ms gflops loadBytes settledBytes` (p50 of one run on synthetic inputs, '-' \
            when it does not run on them; this process's calibrated speed). With FILE: the resident \
            bytes loading that ONNX file added.
            """
    )

    @Argument(help: "An ONNX file, measured alone (load only).")
    var file: String?

    @Option(help: "The catalog module to measure (with --catalog and --models).")
    var module: String?

    @Option(help: "The module catalog.")
    var catalog = "catalog/default.json"

    @Option(help: "Folder of the module files (default: ${S2M3_CACHE:-.cache}/models).")
    var models: String?

    @Option(help: "A tiny model loaded first, so ONNX Runtime's start-up is not charged to the module.")
    var runtimeWarmUp: String?

    @Flag(help: "Also time runs on synthetic inputs and calibrate this process's speed.")
    var timed = false

    @Option(help: "ONNX Runtime's memory settings: arena, no-arena, no-arena-no-pattern or no-arena-trim (the default).")
    var memorySettings: String?

    @Option(help: "The largest batch a device joins (its --max-batch).")
    var batch = LargestInputs.defaultBatch

    /// JSON `[[inputs], [outputs]]` of the declared interface, checked against the model's own.
    @Option(help: "The catalog's declared interface as JSON [[inputs], [outputs]], checked against the model's.")
    var expectInterface: String?

    func validate() throws {
        guard (file == nil) != (module == nil) else { throw ValidationError("give either an ONNX file or --module") }
        guard !timed || module != nil else { throw ValidationError("--timed measures a catalog module: give --module") }
        if let memorySettings, InferenceSessionConfiguration.memorySetting(named: memorySettings) == nil {
            throw ValidationError("unknown --memory-settings '\(memorySettings)'; use \(InferenceSessionConfiguration.memorySettings.map(\.name).joined(separator: ", "))")
        }
        guard (1...256).contains(batch) else { throw ValidationError("--batch must be in 1…256") }
    }

    func run() async throws {
        let configuration = memorySettings.flatMap(InferenceSessionConfiguration.memorySetting(named:)) ?? InferenceSessionConfiguration()
        if let module {
            let modelsDirectory = models ?? CacheDirectory.models
            let loaded = try ModuleCatalog.load(path: catalog, modelsDirectory: modelsDirectory)
            let loader = ModuleLoader(catalog: loaded, modelsDirectory: modelsDirectory, configuration: configuration)
            let bounds = LargestInputs.of(loaded, batch: batch)
            let measured = try await ModuleCostProbe.measureModule(module, loader: loader, bounds: bounds, runtimeWarmUpModel: runtimeWarmUp)
            if let expectInterface, let path = loaded.module(module)?.filePath {
                let session = try await InferenceSession.load(modelPath: path, configuration: configuration)
                try check(expectInterface, inputs: session.inputs, outputs: session.outputs, file: path)
            }
            print(timed ? measured.line : "\(measured.residentBytes)")
            return
        }
        guard let file else { return }
        let measured = try await ModuleMemoryProbe.measureAndInspect(modelPath: file, runtimeWarmUpModel: runtimeWarmUp)
        if let expectInterface { try check(expectInterface, inputs: measured.inputs, outputs: measured.outputs, file: file) }
        print(measured.residentBytes)
    }

    private func check(_ expected: String, inputs: [TensorSpec], outputs: [TensorSpec], file: String) throws {
        let declared = try JSONDecoder().decode([[TensorDeclaration]].self, from: Data(expected.utf8))
        let problems = InterfaceCheck.mismatches(inputs: declared[0], outputs: declared[1], modelInputs: inputs, modelOutputs: outputs)
        if !problems.isEmpty {
            throw ValidationError("interfaceMismatch: the catalog's interface differs from \(file): \(problems.joined(separator: "; "))")
        }
    }
}

/// Runs `s2m3 probe-module` children of this executable, each on a dedicated thread (the child
/// blocks the thread that waits for it), never on the cooperative pool.
enum ModuleProbeChild {
    /// The resident bytes of loading `file` alone (ONNX Runtime's start-up, with the tiny model).
    static func memory(file: String, runtimeWarmUp: String?, module: String) async throws -> Int {
        let arguments = ["probe-module", file] + (runtimeWarmUp.map { ["--runtime-warm-up", $0] } ?? [])
        return try await runOffPool("s2m3-probe") { () throws(CatalogError) in
            try ModuleMemoryProbe.measureInChildProcess(executable: "/proc/self/exe", arguments: arguments, module: module)
        }
    }

    /// Catalog module `module` measured in a child (its interface checked when given): the
    /// ``ModuleMeasurement`` of `probe-module --module … --timed`.
    static func measurement(
        module: String, catalog: String, models: String, runtimeWarmUp: String?, interface: String? = nil, memorySettings: String? = nil
    ) async throws -> ModuleMeasurement {
        var arguments = ["probe-module", "--module", module, "--catalog", catalog, "--models", models, "--timed"]
        arguments += runtimeWarmUp.map { ["--runtime-warm-up", $0] } ?? []
        arguments += interface.map { ["--expect-interface", $0] } ?? []
        arguments += memorySettings.map { ["--memory-settings", $0] } ?? []
        let command = arguments
        return try await runOffPool("s2m3-probe") { () throws(CatalogError) in
            try ModuleCostProbe.measureInChildProcess(executable: "/proc/self/exe", arguments: command, module: module)
        }
    }

    /// The planner's figures for one module of the catalog at `catalog` (``CatalogCosts/Measure``).
    static func measure(runtimeWarmUp: String?, catalog: String, models: String) -> CatalogCosts.Measure {
        { module in try await measurement(module: module.id, catalog: catalog, models: models, runtimeWarmUp: runtimeWarmUp) }
    }
}
