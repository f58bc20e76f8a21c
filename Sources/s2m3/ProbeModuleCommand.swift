import ArgumentParser
import Catalog
import Foundation
import Planner
import Runtime
import ServiceSupport

/// `s2m3 probe-module FILE`: measures one ONNX module in this (fresh) process and prints the figures
/// as its last line. `s2m3 catalog`, `s2m3 planner` and `s2m3 up` run it as a child per module,
/// because memory freed by one module is not always returned to the system (docs/engine.md); the
/// libraries take the measuring command from their caller (``ModuleProbeChild``).
struct ProbeModuleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe-module",
        abstract: "Measure one ONNX module in this process (run as a child by catalog, planner and up).",
        discussion: """
            Prints the resident bytes its loading added; with --timed, `bytes p50Ms gflops` \
            (p50 of one run on synthetic inputs, '-' when it does not run on them; this process's \
            calibrated speed).
            """
    )

    @Argument(help: "The ONNX file.")
    var file: String

    @Option(help: "A tiny model loaded first, so ONNX Runtime's start-up is not charged to the module.")
    var runtimeWarmUp: String?

    @Flag(help: "Also time runs on synthetic inputs and calibrate this process's speed.")
    var timed = false

    /// JSON `[[inputs], [outputs]]` of the declared interface, checked against the model's own.
    @Option(help: "The catalog's declared interface as JSON [[inputs], [outputs]], checked against the model's.")
    var expectInterface: String?

    func run() async throws {
        if timed {
            print(try await ModuleCostProbe.measureAll(modelPath: file, runtimeWarmUpModel: runtimeWarmUp).line)
            return
        }
        let measured = try await ModuleMemoryProbe.measureAndInspect(modelPath: file, runtimeWarmUpModel: runtimeWarmUp)
        if let expectInterface {
            let declared = try JSONDecoder().decode([[TensorDeclaration]].self, from: Data(expectInterface.utf8))
            let problems = InterfaceCheck.mismatches(
                inputs: declared[0], outputs: declared[1], modelInputs: measured.inputs, modelOutputs: measured.outputs)
            if !problems.isEmpty {
                throw ValidationError("interfaceMismatch: the catalog's interface differs from \(file): \(problems.joined(separator: "; "))")
            }
        }
        print(measured.residentBytes)
    }
}

/// Runs `s2m3 probe-module` children of this executable, each on a dedicated thread (the child
/// blocks the thread that waits for it), never on the cooperative pool.
enum ModuleProbeChild {
    /// The resident bytes of `file` (and its interface checked when given).
    static func memory(file: String, runtimeWarmUp: String?, interface: String? = nil, module: String) async throws -> Int {
        let arguments = ["probe-module", file] + (runtimeWarmUp.map { ["--runtime-warm-up", $0] } ?? [])
            + (interface.map { ["--expect-interface", $0] } ?? [])
        return try await runOffPool("s2m3-probe") { () throws(CatalogError) in
            try ModuleMemoryProbe.measureInChildProcess(executable: "/proc/self/exe", arguments: arguments, module: module)
        }
    }

    /// The planner's figures for one catalog module (``CatalogCosts/Measure``).
    static func measure(runtimeWarmUp: String?) -> CatalogCosts.Measure {
        { module in
            let arguments = ["probe-module", module.filePath ?? "", "--timed"] + (runtimeWarmUp.map { ["--runtime-warm-up", $0] } ?? [])
            return try await runOffPool("s2m3-probe") { () throws(CatalogError) in
                try ModuleCostProbe.measureInChildProcess(executable: "/proc/self/exe", arguments: arguments, module: module.id)
            }
        }
    }
}
