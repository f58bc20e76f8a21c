import ArgumentParser
import Catalog
import DeviceAgent
import Foundation
import Inference
import LocalCluster
import Logging
import MQTTBus
import Runtime
import S2M3Core
import ServiceSupport

/// `s2m3 device`: a device agent. Calibrates its speed, announces itself (state with a last will,
/// capabilities), hosts the modules of its retained assignment within its memory budget, answers
/// their invocations and publishes telemetry, until SIGINT/SIGTERM.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Run a device agent: host assigned modules within a memory budget and answer invocations."
    )

    @Option(help: "Device id (letters, digits, '-', '_', '.').")
    var id: String

    @Option(help: "Memory budget of the whole agent (its own footprint, measured at start, and its modules): bytes, or e.g. 600MB, 1.5GiB.")
    var memory: String

    @OptionGroup var bus: BrokerOptions

    @OptionGroup var modules: CatalogOptions

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Invocations waiting or running before the device answers busy.")
    var queueCapacity = 16

    @Option(help: "Inference threads (invocations computed at once).")
    var threads = 1

    @Option(help: "Invocations of one batchable module (e.g. the EfficientNet trunk) that wait together run as one batch of at most this many (1: no batching); nothing waits for a batch to fill.")
    var maxBatch = 8

    @Option(help: "Milliseconds an invocation of a batchable module that finds a worker free waits for others to join its batch (0: none).")
    var batchWaitMs = 0.0

    @Option(help: "Attached sensors, id:kind,… (kinds: camera, microphone, text, other).")
    var sensors = ""

    @Option(help: "MQTT client id (default: the device id, which the secure broker's ACL expects: it lets a device read only its own state).")
    var clientID: String?

    @Option(help: "Announce this compute speed (GFLOP/s) instead of measuring it at start (e.g. equal speeds for a reproducible plan).")
    var computeGflops: Double?

    @Option(help: "Largest image decoded, pixels (width × height, read from the JPEG/PNG header first).")
    var maxImagePixels: Int = LimitsConfiguration().maxImagePixels

    @Option(help: "Longest audio decoded, seconds (read from the WAV header first).")
    var maxAudioSeconds: Double = LimitsConfiguration().maxAudioSeconds

    @Option(help: "ONNX Runtime's memory settings: no-arena-trim (default: no arena, memory returned after each run), no-arena, no-arena-no-pattern, or arena (ONNX Runtime's own defaults).")
    var memorySettings = "no-arena-trim"

    @Flag(inversion: .prefixedNo, help: "Run each module once on a dummy input after loading, before announcing it (--no-warm-up only to measure what that saves).")
    var warmUp = true

    func run() async throws {
        var limits = LimitsConfiguration()
        limits.maxImagePixels = maxImagePixels
        limits.maxAudioSeconds = maxAudioSeconds
        do {
            try limits.validate()
        } catch {
            throw ValidationError("--\(error.field.map(AggregatorCommand.flag) ?? "limits"): \(error.message)")
        }
        var logger = Logger(label: "s2m3.device.\(id)", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .info
        guard Topics.isValidIdentifier(id) else {
            throw DeviceAgentError(.invalidSetting, "device id '\(id)' must be 1–128 letters, digits, '-', '_' or '.'")
        }
        let broker = try bus.configuration()
        let endpoint = try metrics.services(logger: logger)
        let root = bus.topicRoot
        let budget = try MemoryAmount.parse(memory)
        let sensorList = try DeviceAgentConfiguration.sensors(parsing: sensors)
        let modelsDirectory = modules.modelsDirectory
        let loadedCatalog = try Self.loadCatalog(path: try CatalogLocator.find(modules.catalog), modelsDirectory: modelsDirectory)

        let gflops: Double
        if let computeGflops {
            guard computeGflops > 0, computeGflops.isFinite else { throw ValidationError("--compute-gflops must be positive") }
            gflops = computeGflops
        } else {
            let calibration = try await ComputeCalibration.run()
            logger.info(
                "calibrated with a 256×256 matrix multiply",
                metadata: [
                    "compute.gflops": "\(String(format: "%.1f", calibration.gflops))", "runs": "\(calibration.runs)",
                    "seconds": "\(String(format: "%.2f", calibration.seconds))",
                ])
            gflops = calibration.gflops
        }
        var configuration = DeviceAgentConfiguration(
            device: id, session: UUID().uuidString.lowercased(), memoryBudgetBytes: budget, queueCapacity: queueCapacity,
            inferenceThreads: threads, sensors: sensorList, computeGflops: gflops, topics: Topics(root: root))
        // The agent's own footprint counts against its budget: measured now that the catalog is read
        // and ONNX Runtime has started (the calibration starts it; with --compute-gflops a short one does).
        if computeGflops != nil { _ = try await ComputeCalibration.run(duration: .milliseconds(10)) }
        ResidentMemory.returnFreedMemory()
        configuration.baseMemoryBytes = try ResidentMemory.currentBytes()
        configuration.warmUp = warmUp
        configuration.maxBatch = maxBatch
        configuration.batchWaitMs = batchWaitMs
        try configuration.validate()
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: clientID ?? id, will: try DeviceAgentService.will(for: configuration)),
            logger: logger)
        guard let sessionConfiguration = InferenceSessionConfiguration.memorySetting(named: memorySettings) else {
            throw ValidationError("unknown --memory-settings '\(memorySettings)'; use \(InferenceSessionConfiguration.memorySettings.map(\.name).joined(separator: ", "))")
        }
        let loader = ModuleLoader(
            catalog: loadedCatalog, modelsDirectory: modelsDirectory, configuration: sessionConfiguration,
            threadPool: InferenceThreadPool(threadCount: threads, name: "s2m3-device-\(id)"), limits: limits)
        let service = DeviceAgentService(connection: connection, configuration: configuration, loader: loader, logger: logger)
        // SIGTERM / SIGINT: stop taking work, finish what is queued, say offline, disconnect.
        do { try await ProcessServices.run(endpoint + [service], logger: logger) } catch { throw BrokerConnectHint.explain(error, broker: broker) }
    }
}

extension DeviceCommand {
    /// The catalog, with file digests from the set-up's record where it is fresh.
    static func loadCatalog(path: String, modelsDirectory: String) throws -> ModuleCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DeviceAgentError(.invalidSetting, "cannot read the catalog file \(path): check the path")
        }
        let document: CatalogDocument
        do {
            document = try JSONDecoder().decode(CatalogDocument.self, from: data)
        } catch {
            throw DeviceAgentError(.invalidSetting, "\(path) is not a valid catalog (see docs/catalog.md): \(error)")
        }
        return try ModuleCatalog(document: document, modelsDirectory: modelsDirectory)
    }
}

/// Finds a relative catalog path in the current directory, else in the repository (``RepositoryFile``).
enum CatalogLocator {
    static func find(_ path: String) throws -> String {
        if path.hasPrefix("/") { return path }
        guard let found = RepositoryFile.find(path) else {
            throw DeviceAgentError(.invalidSetting, "cannot find the catalog '\(path)'; run from the S2M3 repository or pass --catalog")
        }
        return found
    }
}
