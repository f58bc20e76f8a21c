import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

/// `s2m3 up` as a real process with real children: broker, planner, aggregator and three device
/// agents. It reaches a plan that every device applied and in which no device holds every module;
/// `s2m3 demo` gets an answer to each of its requests; a device killed meanwhile is reported and
/// restarted; SIGTERM stops every child and the broker; SIGKILL of `up` leaves no broker and no
/// service behind. The one test of `up`'s human output (the others read `up --json` or the
/// LocalCluster library).
@Suite("s2m3 up", .serialized)
struct UpCommandTests {
    /// What `up` printed on its way to ready.
    struct Started {
        let child: ChildProcess
        let endpoint: MQTTEndpoint
        let pids: [String: Int32]
        let lines: [String]
        /// The rest of `up`'s output.
        let output: AsyncStream<String>
        /// The private `S2M3_CACHE` `up` ran with (its `cluster.env` is there).
        let cache: String
    }

    /// Starts `s2m3 up` and reads its output until `ready:` (or `until` matches). The broker gets
    /// a free port (`--port 0`) and `up` a private `S2M3_CACHE`, so that neither collides with a
    /// developer's cluster on 1883 or its `cluster.env`.
    private func startUp(_ arguments: [String] = [], until marker: String = "Ctrl-C stops the cluster.") async throws -> Started {
        let logs = NSTemporaryDirectory() + TestBroker.unique("up-logs")
        let cache = try S2M3Run.privateCache()
        let models = TestPaths.cache.appendingPathComponent("models").path
        let child = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, ["up", "--logs", logs, "--port", "0", "--models", models] + arguments, stdout: .pipe, stderr: .null,
            environment: ["S2M3_CACHE": cache])
        let lines = child.outputLines()
        let seen = try await within(.seconds(600), "s2m3 up to print '\(marker)'") {
            var seen: [String] = []
            for await line in lines {
                seen.append(line)
                if line.hasPrefix(marker) { return seen }
            }
            return seen
        }
        let text = seen.joined(separator: "\n")
        guard let brokerLine = seen.first(where: { $0.hasPrefix("broker: mqtt://") }),
              seen.last?.hasPrefix(marker) == true
        else {
            child.send(SIGKILL)
            Issue.record("s2m3 up did not reach '\(marker)':\n\(text)")
            throw CancellationError()
        }
        let address = String(brokerLine.dropFirst("broker: mqtt://".count).prefix { $0 != " " })
        var pids: [String: Int32] = [:]
        if let services = seen.first(where: { $0.hasPrefix("services: ") }) {
            // "planner (pid 12), aggregator agg-1 (pid 13), box-1 (pid 14), …"
            for part in services.dropFirst("services: ".count).components(separatedBy: "), ") {
                let name = part.components(separatedBy: " (pid ").first?.components(separatedBy: " ").last ?? part
                if let pid = part.components(separatedBy: "(pid ").last.flatMap({ Int32($0.filter(\.isNumber)) }) { pids[name] = pid }
            }
        }
        return Started(child: child, endpoint: try MQTTEndpoint(parsing: address), pids: pids, lines: seen, output: lines, cache: cache)
    }

    private func accepts(_ endpoint: MQTTEndpoint) async -> Bool {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: TestBroker.unique("up-probe"), connectTimeout: .seconds(1)),
            logger: BusTest.logger
        )
        let connected: Bool
        do {
            try await connection.connect()
            connected = true
        } catch {
            connected = false
        }
        await connection.disconnect()
        return connected
    }

    /// The retained plan, as JSON.
    private func retainedPlan(_ endpoint: MQTTEndpoint) async throws -> [String: Any] {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: TestBroker.unique("up-plan")), logger: BusTest.logger)
        try await connection.connect()
        let messages = connection.messages
        try await connection.subscribe("s2m3/v1/plan")
        let payload = try await within(.seconds(10), "the retained plan") {
            for await message in messages where !message.payload.isEmpty { return message.payload }
            return []
        }
        await connection.disconnect()
        return try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    }

    private static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        // A zombie (state Z) has exited; only its parent's wait is missing.
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }

    @Test func threeDevicesApplyAPlanNoDeviceHoldsEverythingAndSIGTERMStopsAll() async throws {
        // Equal announced speeds: the plan does not depend on how busy the machine is while the agents start.
        let up = try await startUp(["--device-gflops", "100"])
        #expect(up.pids.count == 5, "planner, aggregator, 3 devices: \(up.pids)")
        #expect(up.lines.contains { $0.hasPrefix("ready: plan for all 3 devices") })
        let plan = try await retainedPlan(up.endpoint)
        let devices = try #require(plan["devices"] as? [String])
        #expect(devices.sorted() == ["box-1", "box-2", "box-3"])
        let placement = try #require(plan["placement"] as? [String: [String]])
        #expect(placement.count >= 9, "every module a task uses is placed")
        for device in devices {
            let hosted = placement.filter { $0.value.contains(device) }.keys
            #expect(hosted.count < placement.count, "\(device) holds every module")
        }
        #expect(plan["unavailableTasks"] == nil, "every task is served: \(plan["unavailableTasks"] ?? "")")
        for pid in up.pids.values { #expect(Self.isRunning(pid)) }

        // `up` told the other commands where its broker is.
        let clusterFile = up.cache + "/cluster.env"
        let written = try String(contentsOfFile: clusterFile, encoding: .utf8)
        #expect(written.contains("S2M3_MQTT_BROKER=\(up.endpoint)"), "\(written)")

        // The demo, given no --broker, finds the cluster there and answers every request of
        // every task through it.
        let fixtures = TestPaths.cache.appendingPathComponent("fixtures").path
        let demo = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, ["demo", "--fixtures", fixtures, "--timeout", "120"], stdout: .pipe, stderr: .null,
            environment: ["S2M3_CACHE": up.cache])
        let demoLines = demo.outputLines()
        let demoOutput = try await within(.seconds(600), "s2m3 demo to finish") {
            var lines: [String] = []
            for await line in demoLines { lines.append(line) }
            return lines
        }
        #expect(await demo.waitUntilExit() == 0, "\(demoOutput.joined(separator: "\n"))")
        #expect(demoOutput.contains("demo: 10 of 10 requests answered"))
        #expect(demoOutput.contains { $0.contains("top: Egyptian cat") }, "chelsea.jpg is classified as a cat")

        // A device that dies is reported and restarted, and `up` keeps serving.
        let box3 = try #require(up.pids["box-3"])
        kill(box3, SIGKILL)
        let output = up.output
        let report = try await within(.seconds(30), "up to report box-3's death") {
            for await line in output where line.contains("box-3 exited unexpectedly") { return line }
            return ""
        }
        #expect(report.contains("status 137") && report.contains("restarting it in 0.5 s (crash 1 of 5 within 60 s)"), "\(report)")
        let restarted = try await within(.seconds(30), "up to report box-3's restart") {
            for await line in output where line.hasPrefix("s2m3 up: box-3 restarted (pid ") { return line }
            return ""
        }
        let pid = try #require(Int32(restarted.dropFirst("s2m3 up: box-3 restarted (pid ".count).prefix { $0.isNumber }))
        #expect(pid != box3 && Self.isRunning(pid), "\(restarted)")
        #expect(!up.child.hasExited)

        up.child.send(SIGTERM)
        #expect(await up.child.waitUntilExit() == 0)
        for (name, pid) in up.pids { #expect(!Self.isRunning(pid), "\(name) (pid \(pid)) still runs") }
        #expect(!Self.isRunning(pid), "the restarted box-3 (pid \(pid)) still runs")
        #expect(!(await accepts(up.endpoint)))
        #expect(!FileManager.default.fileExists(atPath: clusterFile), "up removes cluster.env when it stops")
    }

    @Test func killedUpLeavesNoBrokerAndNoServices() async throws {
        let up = try await startUp(["--devices", "2"], until: "logs: ")
        #expect(up.pids.count == 4)
        up.child.send(SIGKILL)
        await up.child.waitUntilExit()
        let gone = try await within(.seconds(15), "the orphaned broker and services to stop") {
            while await accepts(up.endpoint) || up.pids.values.contains(where: Self.isRunning) {
                try await Task.sleep(for: .milliseconds(50))
            }
            return true
        }
        #expect(gone)
    }
}
