import Foundation
import Catalog
import Inference

/// Measures a module's resident memory with ``InferenceSession/loadMeasured(modelPath:configuration:threadPool:warmUp:)``.
///
/// docs/engine.md: measure each module in a fresh process, because memory freed by one module is not
/// always returned to the system. ``measureInChildProcess`` runs an executable (normally `s2m3
/// catalog --measure-module FILE`) that calls ``measureHere(modelPath:)`` and prints the byte count.
public enum ModuleMemoryProbe {
    /// Loads the model in this process (no warm-up run) and returns the resident bytes it added (at
    /// least the size of its external data files).
    ///
    /// With `runtimeWarmUpModel` (a tiny model such as the onnxruntime wheel's `mul_1.onnx`), that
    /// model is loaded first and kept, so ONNX Runtime's one-off per-process start-up cost is not
    /// charged to the module: a device pays it once whatever it hosts.
    public static func measureHere(modelPath: String, runtimeWarmUpModel: String? = nil) async throws(InferenceError) -> Int {
        try await measureAndInspect(modelPath: modelPath, runtimeWarmUpModel: runtimeWarmUpModel).residentBytes
    }

    /// ``measureHere(modelPath:runtimeWarmUpModel:)`` that also returns the model's own interface.
    public static func measureAndInspect(
        modelPath: String, runtimeWarmUpModel: String? = nil
    ) async throws(InferenceError) -> (residentBytes: Int, inputs: [TensorSpec], outputs: [TensorSpec]) {
        let load = try await MeasuredLoad(modelPath: modelPath, runtimeWarmUpModel: runtimeWarmUpModel)
        return (load.residentBytes, load.session.inputs, load.session.outputs)
    }

    /// A model loaded and measured as ``measureHere(modelPath:runtimeWarmUpModel:)`` does, kept
    /// open (with the warm-up model, so the runtime's start-up stays paid) for further runs.
    public struct MeasuredLoad: Sendable {
        public let session: InferenceSession
        /// The resident bytes loading the model added.
        public let residentBytes: Int
        let runtimeWarmUp: InferenceSession?

        public init(modelPath: String, runtimeWarmUpModel: String?) async throws(InferenceError) {
            runtimeWarmUp = if let runtimeWarmUpModel { try await InferenceSession.load(modelPath: runtimeWarmUpModel) } else { nil }
            let (session, measured) = try await InferenceSession.loadMeasured(modelPath: modelPath)
            self.session = session
            residentBytes = max(measured, Self.externalDataBytes(modelPath: modelPath))
        }

        /// Bytes of the model's external data files. ONNX Runtime may map them instead of reading
        /// them (and a process reuses freed memory), so the resident memory just after loading can
        /// miss them; every weight is resident once the module runs, so the figure is at least this.
        static func externalDataBytes(modelPath: String) -> Int {
            let folder = (modelPath as NSString).deletingLastPathComponent
            return (ONNXExternalData.locations(inModelAt: modelPath) ?? []).reduce(0) { sum, name in
                let size = (try? FileManager.default.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(name))[.size]) as? Int
                return sum + (size ?? 0)
            }
        }
    }

    /// What a catalog module costs in memory, measured in this process by ``measureModule(_:loader:bounds:runs:)``.
    public struct ModuleMemory: Sendable, Hashable {
        /// Resident bytes loading added (at least the model's external data files).
        public var loadBytes: Int
        /// The peak resident bytes above the start while loading and running at the largest inputs:
        /// weights and run-time working set, what the planner counts.
        public var peakBytes: Int
        /// Resident bytes above the start once the runs ended.
        public var settledBytes: Int
        /// The process's resident bytes at the start (before loading).
        public var baseBytes: Int
    }

    /// Loads catalog module `id` with `loader` (its driver and session configuration) and runs it
    /// `runs` times at the largest inputs `bounds` allow (``LoadedModule/warmUpAtLargest(_:)``),
    /// measuring resident memory from `/proc/self` before, after loading, at the peak (`VmHWM`, reset
    /// first) and after the runs. Free memory the allocator kept is returned first. Measure in a
    /// fresh process that has started ONNX Runtime (a device pays that start-up once, whatever it
    /// hosts) and does nothing else meanwhile.
    public static func measureModule(
        _ id: String, loader: ModuleLoader, bounds: LargestInputs, runs: Int = 2
    ) async throws -> (memory: ModuleMemory, module: any LoadedModule) {
        ResidentMemory.returnFreedMemory()
        let before = try ResidentMemory.currentBytes()
        let peakWasReset = ResidentMemory.resetPeak()
        let module = try await loader.load(id)
        let external = module.manifest.filePath.map { MeasuredLoad.externalDataBytes(modelPath: $0) } ?? 0
        let loadBytes = max(try ResidentMemory.currentBytes() - before, external)
        for _ in 0..<max(1, runs) { try await module.warmUpAtLargest(bounds) }
        let settled = try ResidentMemory.currentBytes() - before
        let peak = peakWasReset ? try ResidentMemory.peakBytes() - before : settled
        let memory = ModuleMemory(
            loadBytes: loadBytes, peakBytes: max(peak, loadBytes, settled), settledBytes: max(0, settled), baseBytes: before)
        return (memory, module)
    }

    /// Runs `executable arguments…` and parses the last line of its standard output as a byte count.
    /// Blocks the calling thread while the child runs: call it from a dedicated thread or a command.
    public static func measureInChildProcess(executable: String, arguments: [String], module: String) throws(CatalogError) -> Int {
        try lastLineOfChild(executable: executable, arguments: arguments, module: module, measuring: "memory") {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Runs `executable arguments…` (a measuring child for `module`), waits for it, and reads the
    /// last line of its standard output with `parse`. A child that cannot start, fails, or prints a
    /// line `parse` rejects (nil) is a ``CatalogError`` naming `what` was measured and the child's
    /// first line of standard error. Blocks the calling thread while the child runs.
    public static func lastLineOfChild<Value>(
        executable: String, arguments: [String], module: String, measuring what: String, parse: (String) -> Value?
    ) throws(CatalogError) -> Value {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw CatalogError(.invalidModule, entry: module, "cannot start \(executable) to measure \(what): \(error)")
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let last = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard process.terminationStatus == 0, let value = parse(last) else {
            throw CatalogError(
                .invalidModule, entry: module,
                "measuring \(what) failed (exit \(process.terminationStatus)): "
                    + (errorText.split(whereSeparator: \.isNewline).first.map(String.init) ?? (text.isEmpty ? "no output" : text)))
        }
        return value
    }
}
