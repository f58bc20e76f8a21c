import ArgumentParser
import Catalog
import Foundation
import Inference
import LocalCluster
import Runtime
import S2M3Core

/// `s2m3 bench modules`: per module, latency p50 and the resident memory it adds; per task, the
/// monolithic (one-process) latency p50/p99, all measured in one run on the set-up's fixtures.
/// Build with `swift build -c release` first; debug timings mean little.
struct BenchModulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modules",
        abstract: "Benchmark every module (latency, memory) and every task run in one process (latency)."
    )

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Folder of the fixtures (default: ${S2M3_CACHE:-.cache}/fixtures).")
    var fixtures: String?

    @Option(help: "Timed runs of each module (after one warm-up run).")
    var moduleRuns = 20

    @Option(help: "Timed runs of each task (after one warm-up run).")
    var taskRuns = 30

    @Option(help: "Inference threads of the task runner.")
    var threads = 2

    @Flag(help: "Instead: each ONNX module's memory (load, peak at the largest inputs, settled) and p50 under each memory setting of ONNX Runtime, one child process per measurement.")
    var memory = false

    @Option(help: "With --memory: measurements of each module and setting (the median is shown).")
    var memoryRepeats = 3

    @Option(help: "ONNX Runtime's memory settings of the timed runs: no-arena-trim (default), no-arena, no-arena-no-pattern or arena.")
    var memorySettings = "no-arena-trim"

    func run() async throws {
        if memory { return try await runMemorySettings() }
        guard let sessionConfiguration = InferenceSessionConfiguration.memorySetting(named: memorySettings) else {
            throw ValidationError("unknown --memory-settings '\(memorySettings)'")
        }
        let modelsDirectory = modules.modelsDirectory
        let fixtureDirectory = fixtures ?? CacheDirectory.fixtures
        let loaded = try ModuleCatalog.load(path: modules.catalog, modelsDirectory: modelsDirectory)
        let loader = ModuleLoader(
            catalog: loaded, modelsDirectory: modelsDirectory, configuration: sessionConfiguration,
            threadPool: InferenceThreadPool(threadCount: max(1, threads), name: "s2m3-bench"))
        let modules = LocalModules(loader: loader)
        let requests = try BenchInputs(directory: fixtureDirectory).requests()

        // Modules: each node of each task in order, alone, on that task's real intermediate values.
        var moduleTimes: [String: [Double]] = [:]
        var memory: [String: Int] = [:]
        var order: [String] = []
        for task in loaded.tasks {
            guard let request = requests[task.id] else { continue }
            let binding = try TaskBinding(task: task, catalog: loaded)
            var values = try binding.inputValues(request.bundle())
            for node in binding.nodes {
                let key = loaded.sharedID[node.module] ?? node.module
                let before = try ResidentMemory.currentBytes()
                let module = try await modules.module(key)
                let arguments = try binding.arguments(of: node, values: values)
                values[node.id] = try await module.run(arguments)
                if memory[key] == nil {
                    memory[key] = try ResidentMemory.currentBytes() - before
                    order.append(key)
                }
                guard moduleTimes[key] == nil else { continue }
                var times: [Double] = []
                for _ in 0..<moduleRuns {
                    let start = ContinuousClock.now
                    _ = try await module.run(arguments)
                    times.append(Self.ms(ContinuousClock.now - start))
                }
                moduleTimes[key] = times
            }
        }
        // Tasks: the whole task in one process, branches concurrent.
        let runner = TaskRunner(modules: modules)
        var taskTimes: [(String, [Double])] = []
        for task in loaded.tasks {
            guard let request = requests[task.id] else { continue }
            let binding = try TaskBinding(task: task, catalog: loaded)
            let bundle = try request.bundle()
            _ = try await runner.run(binding, request: bundle)
            var times: [Double] = []
            for _ in 0..<taskRuns { times.append(try await runner.run(binding, request: bundle).totalMs) }
            taskTimes.append((task.id, times))
        }
        print(BenchModulesText.markdown(
            catalog: loaded, order: order, moduleTimes: moduleTimes, memory: memory, taskTimes: taskTimes,
            requests: requests,
            command: "s2m3 bench modules --module-runs \(moduleRuns) --task-runs \(taskRuns) --threads \(threads) --memory-settings \(memorySettings)"))
    }

    static func ms(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// The benchmark's inputs: the set-up's fixtures, one request per task of the default catalog.
struct BenchInputs {
    let directory: String

    static let captions = ["a cat", "a cup of espresso", "a cameraman", "a scooter", "a rocket on its launch pad"]

    func requests() throws -> [String: TaskRequest] {
        let image = try media("chelsea.jpg"), speech = try media("sentence-inspection.wav")
        return [
            "classify-image": TaskRequest(inputs: ["image": image]),
            "match-image-text": TaskRequest(inputs: ["image": try media("coffee.jpg"), "texts": .texts(Self.captions)]),
            "transcribe": TaskRequest(inputs: ["audio": speech]),
            "voice-command": TaskRequest(inputs: ["audio": try media("cmd-open-gate.wav")]),
            "read-text": TaskRequest(inputs: ["image": try media("ocr-inspection.png")]),
            "describe-scene": TaskRequest(inputs: ["image": image, "audio": try media("cmd-stop-line.wav")]),
        ]
    }

    /// What each task was given, for the table.
    static let described: [String: String] = [
        "classify-image": "chelsea.jpg", "match-image-text": "coffee.jpg + 5 captions", "transcribe": "sentence-inspection.wav (5.6 s)",
        "voice-command": "cmd-open-gate.wav + 5 default commands", "read-text": "ocr-inspection.png (640×220, 2 lines)",
        "describe-scene": "chelsea.jpg + cmd-stop-line.wav",
    ]

    func media(_ name: String) throws -> TaskInput {
        let path = (directory as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("missing fixture \(path): run scripts/setup.sh or pass --fixtures")
        }
        let bytes = [UInt8](data)
        return .media(contentType: MediaType.sniff(bytes) ?? MediaType.jpeg, bytes: bytes)
    }
}
