import Foundation
import LocalBroker
import LocalCluster
import Logging
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// A real local cluster for end-to-end tests: `s2m3 up --json` as a child process (broker,
/// planner, aggregator and device agents, each its own process), read until it prints its ready
/// report (``ClusterReadyReport``, the LocalCluster library's typed value, as JSON).
final class UpCluster: Sendable {
    let up: ChildProcess
    /// What `up` reported once ready.
    let report: ClusterReadyReport
    let endpoint: MQTTEndpoint
    /// Service name (`planner`, `agg-1`, `box-1`, …) → process id, from the ready report.
    let pids: [String: Int32]
    /// Service name → metrics port (empty without `--metrics-port-base`).
    let metricsPorts: [String: Int]
    let logs: String
    /// The private `S2M3_CACHE` of this `up` (its `cluster.env`).
    let cache: String
    /// The log of the broker `up` started (nil with an existing broker).
    var brokerLog: String? { report.broker.log }
    /// The rest of `up`'s JSON lines (exits and restarts).
    let lines: AsyncStream<String>

    static let logger: Logger = {
        var logger = Logger(label: "s2m3.cluster-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Starts `s2m3 up --json` with `arguments` and waits for its ready report. The broker gets a
    /// free port (`--port 0`) and `up` a private `S2M3_CACHE` (so no collision with a developer's
    /// cluster on 1883 or its `cluster.env`). `catalog` defaults to catalog/default.json.
    init(_ arguments: [String], catalog: String? = nil) async throws {
        logs = NSTemporaryDirectory() + "s2m3-cluster-tests-\(UUID().uuidString.prefix(8))"
        cache = try S2M3Run.privateCache()
        let models = TestPaths.cache.appendingPathComponent("models").path
        let catalog = catalog ?? TestPaths.repository.appendingPathComponent("catalog/default.json").path
        up = try ChildProcess.spawn(
            try TestPaths.s2m3Executable,
            ["up", "--json", "--logs", logs, "--catalog", catalog, "--models", models, "--port", "0"] + arguments, stdout: .pipe,
            stderr: .null, environment: ["S2M3_CACHE": cache])
        lines = up.outputLines()
        let lines = lines
        let reader = Task { () -> (ClusterReadyReport?, [String]) in
            var seen: [String] = []
            for await line in lines {
                seen.append(line)
                if let ready = try? JSONDecoder().decode(ClusterJSONLine.self, from: Data(line.utf8)).ready { return (ready, seen) }
            }
            return (nil, seen)
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(300))
            reader.cancel()
        }
        let (ready, seen) = await reader.value
        timeout.cancel()
        guard let ready else {
            up.send(SIGKILL)
            throw ClusterTestError("s2m3 up did not report ready:\n" + seen.joined(separator: "\n") + "\n(logs in \(logs))")
        }
        report = ready
        endpoint = try MQTTEndpoint(parsing: ready.broker.endpoint)
        pids = Dictionary(uniqueKeysWithValues: ready.services.map { ($0.name, $0.pid) })
        metricsPorts = Dictionary(uniqueKeysWithValues: ready.services.compactMap { service in service.metricsPort.map { (service.name, $0) } })
    }

    /// Stops the cluster the way a user does (SIGTERM to `up`) and waits for it.
    func stop() async {
        up.send(SIGTERM)
        let killer = Task {
            try await Task.sleep(for: .seconds(30))
            up.send(SIGKILL)
        }
        await up.waitUntilExit()
        killer.cancel()
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: cache), entries.isEmpty {
            try? FileManager.default.removeItem(atPath: cache)
        }
    }

    func connection(_ name: String) -> MQTTConnection {
        MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "\(name)-\(UUID().uuidString.prefix(8))"),
            logger: Self.logger)
    }

    func client() async throws -> S2M3Client {
        let client = S2M3Client(connection: connection("cluster-test-client"), logger: Self.logger)
        try await client.connect()
        return client
    }

    /// The retained plan.
    func plan() async throws -> PlanMessage {
        let connection = connection("cluster-test-plan")
        try await connection.connect()
        let plan = await Self.firstPlan(on: connection)
        await connection.disconnect()
        return try plan.get()
    }

    private static func firstPlan(on connection: MQTTConnection) async -> Result<PlanMessage, any Error> {
        do {
            let messages = connection.messages
            try await connection.subscribe(Topics().plan)
            for await message in messages where !message.payload.isEmpty {
                return .success(try PlanMessage(json: message.payload))
            }
            return .failure(ClusterTestError("no retained plan"))
        } catch {
            return .failure(error)
        }
    }
}

struct ClusterTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
