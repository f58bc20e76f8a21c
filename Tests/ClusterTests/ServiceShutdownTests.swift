import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// Every long-running service stops the same way (docs/architecture.md, one lifecycle): on SIGTERM
/// with a request in flight it stops taking work, lets that request finish, and exits 0 within its
/// drain time; the request is answered, not lost.
@Suite("Graceful shutdown of every service", .serialized)
struct ServiceShutdownTests {
    enum Target: String, CaseIterable, Sendable {
        case aggregator, device, planner, serve
    }

    /// The services of one test, on a broker of their own.
    struct Rig {
        let broker: MosquittoProcess
        var processes: [String: ChildProcess] = [:]
        let logDirectory: String

        var endpoint: MQTTEndpoint { MQTTEndpoint(host: broker.host, port: broker.port) }

        func log(_ name: String) -> String { "\(logDirectory)/\(name).log" }

        mutating func start(_ name: String, _ arguments: [String]) throws {
            let common = [
                "--broker", "\(broker.host):\(broker.port)",
                "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path,
                "--models", TestPaths.cache.appendingPathComponent("models").path,
            ]
            processes[name] = try ChildProcess.spawn(
                try TestPaths.s2m3Executable, arguments + common, stdout: .pipe, stderr: .appendToFile(log(name)))
        }

        func logs() -> String {
            processes.keys.sorted().map { name in
                let text = String(decoding: FileManager.default.contents(atPath: log(name)) ?? Data(), as: UTF8.self)
                return "--- \(name):\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
            }.joined(separator: "\n")
        }

        func stop() async {
            for process in processes.values { process.send(SIGKILL) }
            for process in processes.values { _ = await process.waitUntilExit() }
            await broker.stop()
        }
    }

    /// A watcher of the invoke topics: the device of the first invocation seen (the work in flight).
    static func firstInvocation(on endpoint: MQTTEndpoint) async throws -> (MQTTConnection, MQTTMessageStream) {
        let watcher = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: TestBroker.unique("shutdown-watch")),
            logger: UpCluster.logger)
        try await watcher.connect()
        let messages = watcher.messages
        try await watcher.subscribe(Topics().allModuleInvocations)
        return (watcher, messages)
    }

    @Test("SIGTERM with a request in flight: answered, and the service exits 0 within its drain time",
          .timeLimit(.minutes(4)), arguments: Target.allCases)
    func sigtermDrains(_ target: Target) async throws {
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(
            template: TestPaths.repository.appendingPathComponent("broker-config/dev.conf").path))
        let logDirectory = NSTemporaryDirectory() + "s2m3-shutdown-\(target.rawValue)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        var rig = Rig(broker: broker, logDirectory: logDirectory)
        let client = S2M3Client(
            connection: MQTTConnection(
                configuration: MQTTConfiguration(endpoints: [rig.endpoint], clientID: TestBroker.unique("shutdown-client")),
                logger: UpCluster.logger),
            logger: UpCluster.logger)
        do {
            if target == .serve {
                try rig.start("serve", ["serve", "--log-level", "warning"])
                let lines = try #require(rig.processes["serve"]).outputLines()
                _ = try await within(.seconds(180), "serve to be ready\n\(rig.logs())") {
                    for await line in lines where line.hasPrefix("ready") { return true }
                    throw ClusterTestError("serve ended before it was ready")
                }
            } else {
                // Two devices, so that the request survives one of them stopping (re-plan, retry).
                try rig.start("planner", ["planner"])
                try rig.start("aggregator", ["aggregator", "--id", "agg-1", "--drain-ms", "30000"])
                for id in ["box-1", "box-2"] {
                    try rig.start(id, ["device", "--id", id, "--memory", "2GiB", "--compute-gflops", "100"])
                }
                let started = rig
                _ = try await ComposeReadiness.waitForDevices(["box-1", "box-2"], endpoint: rig.endpoint, timeout: .seconds(180)) {
                    started.logs()
                }
            }
            try await client.connect()
            let (watcher, invocations) = try await Self.firstInvocation(on: rig.endpoint)
            // transcribe: several invocations in a row, about a second of work.
            async let answer = client.request(
                task: "transcribe", inputs: ["audio": try ClusterTests.audio("sentence-inspection.wav")], timeout: .seconds(90))
            // In flight: an invocation was sent (a cluster), or the request had time to reach serve.
            var victim = target.rawValue
            if target == .serve {
                try await Task.sleep(for: .milliseconds(300))
            } else {
                let topic = try await within(.seconds(30), "the first invocation") {
                    for await message in invocations { return message.topic }
                    throw ClusterTestError("the watcher's connection ended")
                }
                if target == .device {
                    victim = try #require(Topics().invocation(fromInvokeTopic: topic)?.device, "device in \(topic)")
                }
            }
            await watcher.disconnect()
            let process = try #require(rig.processes[victim])
            process.send(SIGTERM)
            let status = try await within(.seconds(45), "\(victim) to exit after SIGTERM\n\(rig.logs())") {
                await process.waitUntilExit()
            }
            #expect(status == 0, "\(victim) exited with \(status.map(String.init) ?? "a signal")\n\(rig.logs())")
            let result = try await answer
            #expect(result.task == "transcribe")
            guard case .text(let text)? = result.outputs["transcript"] ?? result.outputs.values.first else {
                throw ClusterTestError("no transcript in \(result.outputs.keys.sorted())")
            }
            #expect(!text.isEmpty, "the request in flight was answered with its transcript")
        } catch {
            await client.close()
            await rig.stop()
            throw error
        }
        await client.close()
        await rig.stop()
    }
}
