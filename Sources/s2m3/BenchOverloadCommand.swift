import ArgumentParser
import Foundation
import LocalBroker
import LocalCluster
import Logging
import MQTTBus
import S2M3Client
import S2M3Core

/// `s2m3 bench overload`: classify-image under 1×, 2×, 5× and 10× the cluster's measured capacity,
/// with the aggregator's admission control on and off (`--no-admission`, the behaviour before it),
/// each on a fresh `s2m3 up` cluster on a broker of its own; then, admission on, the time from a
/// broker SIGKILL + restart until a request is answered again. Prints Markdown for
/// docs/benchmarks.md.
struct BenchOverloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overload",
        abstract: "Offered vs answered vs refused under overload, admission on and off; recovery after a broker restart."
    )

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Device agents of each cluster.")
    var devices = 2

    @Option(help: "Seconds of each load step.")
    var seconds = 8.0

    @Option(help: "Load steps, as multiples of the measured capacity, comma-separated.")
    var multiples = "1,2,5,10"

    @Option(help: "The JPEG sent (default: chelsea.jpg of the fixture cache).")
    var image: String?

    func run() async throws {
        let path = image ?? CacheDirectory.path + "/fixtures/chelsea.jpg"
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path): run scripts/setup.sh or give --image") }
        let steps = multiples.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !steps.isEmpty, steps.allSatisfy({ $0 > 0 }) else { throw ValidationError("--multiples must be positive numbers") }
        var rows: [String] = []
        var capacity: Double?
        var recovery: [Double] = []
        for admission in [false, true] {
            let rig = try await BenchOverloadRig.start(devices: devices, admission: admission, modules: modules)
            do {
                let load = { (name: String) in
                    RequestLoad(connection: rig.connection, task: "classify-image", payload: [UInt8](data), contentType: MediaType.jpeg, name: name)
                }
                _ = try await load("warm-\(admission)").closedLoop(concurrency: 4, seconds: 2)
                // One capacity for both modes (measured on the first cluster), so the loads are alike.
                if capacity == nil {
                    let measured = try await load("capacity").closedLoop(concurrency: 8, seconds: seconds)
                    capacity = measured.throughputPerSecond ?? measured.answeredPerSecond
                    print("capacity: \(String(format: "%.1f", capacity!)) classify-image results/s")
                }
                for multiple in steps {
                    let outcome = try await load("x\(multiple)-\(admission)").openLoop(rate: multiple * capacity!, seconds: seconds, drain: .seconds(30))
                    let row = Self.row(admission: admission, multiple: multiple, outcome)
                    print(row)
                    rows.append(row)
                    try await Task.sleep(for: .seconds(2))
                }
                if admission {
                    for _ in 0..<3 { recovery.append(try await rig.recoveryAfterBrokerRestart(payload: [UInt8](data))) }
                }
            } catch {
                await rig.stop()
                throw error
            }
            await rig.stop()
        }
        print("\n| aggregator | load | offered/s | results/s | refused/s | other errors | silent | refusal p50 ms | refusal p99 ms | result p50 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        rows.forEach { print($0) }
        let sorted = recovery.sorted()
        print("\nRecovery after broker SIGKILL + restart (admission on, \(recovery.count) runs): median \(Int(sorted[sorted.count / 2])) ms, runs \(recovery.map { String(Int($0)) }.joined(separator: ", ")) ms")
    }

    static func row(admission: Bool, multiple: Double, _ outcome: LoadOutcome) -> String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "–" }
        let seconds = max(outcome.sendingSeconds, 1e-9)
        let others = outcome.errors.filter { $0.key != "overloaded" }.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return "| \(admission ? "admission" : "before (no admission)") | \(String(format: "%g", multiple))× "
            + "| \(String(format: "%.1f", outcome.offeredPerSecond)) | \(String(format: "%.1f", outcome.throughputPerSecond ?? outcome.answeredPerSecond)) "
            + "| \(String(format: "%.1f", Double(outcome.rejected) / seconds)) | \(others.isEmpty ? "0" : others) | \(outcome.silent) "
            + "| \(ms(LoadOutcome.quantile(outcome.rejectionLatenciesMs, 0.5))) | \(ms(LoadOutcome.quantile(outcome.rejectionLatenciesMs, 0.99))) "
            + "| \(ms(LoadOutcome.quantile(outcome.resultLatenciesMs, 0.5))) |"
    }
}

/// A broker of the benchmark's own and `s2m3 up --broker` on it, read until it serves.
struct BenchOverloadRig: Sendable {
    let broker: MosquittoProcess
    let up: ChildProcess
    let connection: MQTTConnection

    static func start(devices: Int, admission: Bool, modules: CatalogOptions, upArguments: [String] = []) async throws -> BenchOverloadRig {
        let logs = NSTemporaryDirectory() + "s2m3-bench-overload-\(getpid())-\(admission)-\(UUID().uuidString.prefix(6))"
        return try await start(ready: "Ctrl-C stops the cluster.") { broker in
            ["up", "--broker", "\(broker.host):\(broker.port)", "--devices", String(devices), "--device-memory", "600MB",
             "--catalog", modules.catalog, "--models", modules.modelsDirectory, "--logs", logs] + (admission ? [] : ["--no-admission"]) + upArguments
        }
    }

    /// `s2m3 serve` (one process, no devices) with `arguments` on a broker of its own.
    static func startServe(modules: CatalogOptions, arguments: [String]) async throws -> BenchOverloadRig {
        try await start(ready: "ready:") { broker in
            ["serve", "--broker", "\(broker.host):\(broker.port)", "--catalog", modules.catalog, "--models", modules.modelsDirectory] + arguments
        }
    }

    /// A broker of its own and `s2m3 <arguments(broker)>` on it, once it printed a line starting with `ready`.
    private static func start(ready: String, _ arguments: (MosquittoProcess) -> [String]) async throws -> BenchOverloadRig {
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: try BrokerConfigLocator.find("dev.conf")))
        let command = arguments(broker)
        let up = try ChildProcess.spawn(ClusterProcesses.currentExecutable, command, stdout: .pipe, stderr: .null)
        var serving = false
        for await line in up.outputLines() where line.hasPrefix(ready) {
            serving = true
            break
        }
        guard serving else {
            await broker.stop()
            throw ValidationError("s2m3 \(command.joined(separator: " ")) did not start")
        }
        var logger = Logger(label: "s2m3.bench-overload")
        logger.logLevel = .error
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [MQTTEndpoint(host: broker.host, port: broker.port)], clientID: "bench-overload-\(getpid())-\(UUID().uuidString.prefix(6))"),
            logger: logger)
        try await connection.connect()
        return BenchOverloadRig(broker: broker, up: up, connection: connection)
    }

    /// SIGKILLs the broker, restarts it on its port, and sends a request every 100 ms (each may
    /// wait 1 s) until one is answered with a result: ms from the restart to that result.
    func recoveryAfterBrokerRestart(payload: [UInt8]) async throws -> Double {
        await broker.kill()
        try await broker.restart()
        let restarted = ContinuousClock.now
        var attempt = 0
        while ContinuousClock.now - restarted < .seconds(120) {
            attempt += 1
            let outcome = try? await RequestLoad(
                connection: connection, task: "classify-image", payload: payload, contentType: MediaType.jpeg, name: "recover-\(attempt)-\(UInt32.random(in: 0...UInt32.max))"
            ).closedLoop(concurrency: 1, seconds: 0, drain: .seconds(1))
            if let outcome, outcome.results > 0 {
                let elapsed = ContinuousClock.now - restarted
                return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("no result within 120 s of the broker restart")
    }

    func stop() async {
        await connection.disconnect()
        up.send(SIGTERM)
        _ = await up.waitUntilExit()
        await broker.stop()
    }
}
