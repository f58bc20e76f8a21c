import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// A real local cluster for end-to-end tests: `s2m3 up` as a child process (broker, planner,
/// aggregator and device agents, each its own process), read until it serves.
final class LocalCluster: Sendable {
    let up: ChildProcess
    let endpoint: MQTTEndpoint
    /// Service name (`planner`, `agg-1`, `box-1`, …) → process id, as `up` printed them.
    let pids: [String: Int32]
    /// Service name → metrics port, as `up --metrics-port-base` printed them (empty without).
    let metricsPorts: [String: Int]
    let logs: String
    /// The private `S2M3_CACHE` of this `up` (its `cluster.env`).
    let cache: String
    /// The log of the broker `up` started (nil when `up` printed none).
    let brokerLog: String?

    static let logger: Logger = {
        var logger = Logger(label: "s2m3.cluster-tests")
        logger.logLevel = .warning
        return logger
    }()

    /// Starts `s2m3 up` with `arguments` and waits until it prints that it serves. The broker gets
    /// a free port (`--port 0`) and `up` a private `S2M3_CACHE` (so no collision with a developer's
    /// cluster on 1883 or its `cluster.env`). `catalog` defaults to catalog/default.json.
    init(_ arguments: [String], catalog: String? = nil) async throws {
        logs = NSTemporaryDirectory() + "s2m3-cluster-tests-\(UUID().uuidString.prefix(8))"
        cache = try S2M3Run.privateCache()
        let models = TestPaths.cache.appendingPathComponent("models").path
        let catalog = catalog ?? TestPaths.repository.appendingPathComponent("catalog/default.json").path
        up = try ChildProcess.spawn(
            try TestPaths.s2m3Executable,
            ["up", "--logs", logs, "--catalog", catalog, "--models", models, "--port", "0"] + arguments, stdout: .pipe, stderr: .null,
            environment: ["S2M3_CACHE": cache])
        let lines = up.outputLines()
        let reader = Task {
            var seen: [String] = []
            for await line in lines {
                seen.append(line)
                if line.hasPrefix("Ctrl-C stops the cluster.") { break }
            }
            return seen
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(300))
            reader.cancel()
        }
        let seen = await reader.value
        timeout.cancel()
        guard seen.last?.hasPrefix("Ctrl-C stops the cluster.") == true,
              let brokerLine = seen.first(where: { $0.hasPrefix("broker: mqtt://") || $0.hasPrefix("broker: mqtts://") })
        else {
            up.send(SIGKILL)
            throw ClusterTestError("s2m3 up did not start serving:\n" + seen.joined(separator: "\n") + "\n(logs in \(logs))")
        }
        endpoint = try MQTTEndpoint(parsing: String(brokerLine.drop { $0 != "/" }.dropFirst(2).prefix { $0 != " " }))
        // "broker: mqtt://127.0.0.1:PORT (Mosquitto, log PATH)"
        brokerLog = brokerLine.components(separatedBy: ", log ").dropFirst().last.map { String($0.dropLast()) }
        var pids: [String: Int32] = [:]
        if let services = seen.first(where: { $0.hasPrefix("services: ") }) {
            // "planner (pid 12), aggregator agg-1 (pid 13), box-1 (pid 14), …"
            for part in services.dropFirst("services: ".count).components(separatedBy: "), ") {
                let name = part.components(separatedBy: " (pid ").first?.components(separatedBy: " ").last ?? part
                if let pid = part.components(separatedBy: "(pid ").last.flatMap({ Int32($0.filter(\.isNumber)) }) { pids[name] = pid }
            }
        }
        self.pids = pids
        var ports: [String: Int] = [:]
        if let metrics = seen.first(where: { $0.hasPrefix("metrics: ") }) {
            // "planner http://127.0.0.1:9400/metrics, agg-1 http://127.0.0.1:9401/metrics, …"
            for part in metrics.dropFirst("metrics: ".count).components(separatedBy: ", ") {
                let fields = part.split(separator: " ")
                guard fields.count == 2, let port = Int(fields[1].split(separator: ":").last?.prefix { $0.isNumber } ?? "") else { continue }
                ports[String(fields[0])] = port
            }
        }
        metricsPorts = ports
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
