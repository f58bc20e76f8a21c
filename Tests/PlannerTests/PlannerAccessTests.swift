import Foundation
import LocalBroker
import Logging
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Core
import TestSupport
import Testing

/// Access from the live plan on a real broker (broker-config/secure.conf with the dynamic-security
/// plugin, credentials from make-credentials.sh): the planner, as the plugin's administrator, lets
/// each device receive only the invocations of the modules the plan gives it. Devices are the
/// test's own connections under the device identities, subscribed to every invocation topic the
/// ACL lets them name, re-announcing `online` after a reconnect like the device agent.
@Suite("Planner access from the live plan", .serialized)
struct PlannerAccessTests {
    static let topics = Topics()
    static let logger = TestBroker.logger("PlannerAccessTests")

    /// a and c 45 MB, b 60 MB, one task each; devices of 100 MB hold {a, c} or {b} and a single one.
    static let instance: PlacementInstance = {
        let json = """
            {"devices": [{"id": "template", "memoryBytes": 1, "gflops": 1, "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "a", "memoryBytes": 45000000, "gflop": 0.1, "outputBytes": 1000},
                         {"id": "b", "memoryBytes": 60000000, "gflop": 0.1, "outputBytes": 1000},
                         {"id": "c", "memoryBytes": 45000000, "gflop": 0.1, "outputBytes": 1000}],
             "tasks": [{"id": "ta", "rate": 0.1, "nodes": [{"id": "n", "module": "a"}]},
                       {"id": "tb", "rate": 0.1, "nodes": [{"id": "n", "module": "b"}]},
                       {"id": "tc", "rate": 0.1, "nodes": [{"id": "n", "module": "c"}]}]}
            """
        return try! PlacementInstance(json: Data(json.utf8))
    }()

    struct Broker {
        let process: MosquittoProcess
        let secrets: String

        func configuration(_ identity: String) throws -> MQTTConfiguration {
            var configuration = MQTTConfiguration(endpoints: [MQTTEndpoint(host: process.host, port: process.port)], clientID: identity)
            configuration.username = identity
            configuration.password = try String(contentsOfFile: secrets + "/\(identity).password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            configuration.tls = MQTTTLSConfiguration(caFile: secrets + "/ca.crt")
            configuration.reconnectDelay = .milliseconds(100)
            return configuration
        }
    }

    static func withBroker<T>(_ body: (Broker) async throws -> T) async throws -> T {
        let secrets = NSTemporaryDirectory() + TestBroker.unique("s2m3-plan-access")
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = [
            TestPaths.brokerConfig("make-credentials.sh"), "--devices", "box-1 box-2 box-3", "--aggregators", "agg-1",
            "--planners", "planner", "--clients", "", "--monitors", "", secrets,
        ]
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        try #require(script.terminationStatus == 0, "make-credentials.sh failed")
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("secure.conf"), secretsDirectory: secrets)
        return try await MosquittoProcess.withRunning(configuration) { process in
            try await body(Broker(process: process, secrets: secrets))
        }
    }

    /// A device identity announcing itself (capabilities, `online`, an `offline` will) and
    /// subscribed to all its invocation topics; it announces `online` again after each reconnect.
    final class Device: Sendable {
        let id: String
        let session = UUID().uuidString.lowercased()
        let connection: MQTTConnection
        let inbox: MQTTMessageStream
        let reannounce: Task<Void, Never>

        init(_ id: String, broker: Broker) async throws {
            self.id = id
            var configuration = try broker.configuration(id)
            let offline = DeviceState(device: id, status: .offline, session: session, timestampMs: 1, reason: "will")
            configuration.will = MQTTMessage(topic: PlannerAccessTests.topics.deviceState(id), payload: try offline.jsonBytes(), retain: true)
            connection = MQTTConnection(configuration: configuration, logger: PlannerAccessTests.logger)
            try await connection.connect()
            inbox = connection.messages
            try await connection.subscribe(PlannerAccessTests.topics.moduleInvoke(module: "+", device: id))
            let capabilities = DeviceCapabilities(
                device: id, session: session, memoryBudgetBytes: 100_000_000, computeGflops: 100, cores: 2, sensors: [],
                limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)
            try await connection.publish(MQTTMessage(
                topic: PlannerAccessTests.topics.deviceCapabilities(id), payload: try capabilities.jsonBytes(), retain: true))
            let (connection, online) = (connection, try DeviceState(device: id, status: .online, session: session, timestampMs: 2).jsonBytes())
            try await connection.publish(MQTTMessage(topic: PlannerAccessTests.topics.deviceState(id), payload: online, retain: true))
            let events = connection.events
            reannounce = Task {
                for await event in events {
                    guard case .reconnected = event else { continue }
                    try? await connection.publish(MQTTMessage(topic: PlannerAccessTests.topics.deviceState(id), payload: online, retain: true))
                }
            }
        }

        /// Leaves as the agent does on shutdown: `offline`, then a clean disconnect.
        func leave() async throws {
            let offline = try DeviceState(device: id, status: .offline, session: session, timestampMs: 3, reason: "shutdown").jsonBytes()
            try await connection.publish(MQTTMessage(topic: PlannerAccessTests.topics.deviceState(id), payload: offline, retain: true))
            reannounce.cancel()
            await connection.disconnect()
        }

        /// Whether an invocation of `module` reaches this device: the aggregator sends it, then a
        /// marker invocation of `marker` (which the device may receive); the device's next
        /// invocation tells (the broker keeps one publisher's order towards one subscriber). A
        /// marker that does not arrive in 3 s (the device is reconnecting after a kick) is sent again.
        func receives(_ module: String, marker: String, from aggregator: MQTTConnection) async throws -> Bool {
            let probe = UUID().uuidString
            for _ in 0..<10 {
                try await aggregator.publish(MQTTMessage(topic: PlannerAccessTests.topics.moduleInvoke(module: module, device: id), string: probe))
                try await aggregator.publish(MQTTMessage(topic: PlannerAccessTests.topics.moduleInvoke(module: marker, device: id), string: probe))
                let inbox = inbox
                let first = try? await within(.seconds(3), "an invocation at \(id)") {
                    for await message in inbox where message.payloadString == probe { return message.topic }
                    throw TimedOut(what: "the inbox of \(self.id) ended")
                }
                guard let first else { continue }
                if first == PlannerAccessTests.topics.moduleInvoke(module: module, device: id) {
                    // The marker follows; take it so the next probe starts clean.
                    _ = try? await within(.seconds(3), "the marker at \(id)") {
                        for await message in inbox where message.payloadString == probe { return message.topic }
                        throw TimedOut(what: "the inbox of \(self.id) ended")
                    }
                    return true
                }
                return false
            }
            throw TimedOut(what: "\(id) to receive the marker \(marker)")
        }
    }

    /// Plans (epoch, devices, placement) as the aggregator identity reads them.
    actor Plans {
        var seen: [PlanMessage] = []
        var offline: [String] = []
        func add(_ plan: PlanMessage) { seen.append(plan) }
        func wentOffline(_ device: String) { offline.append(device) }
    }

    @Test(.timeLimit(.minutes(3)))
    func aDeviceThatLostAModuleNoLongerReceivesItsInvocationsAndStaysInThePlan() async throws {
        try await Self.withBroker { broker in
            let topics = Self.topics
            // The plan of a previous run: a on box-1, c on box-2, b on box-3.
            let previous = PlanMessage(
                epoch: 4, createdAtMs: 1, algorithm: "auto", devices: ["box-1", "box-2", "box-3"],
                placement: ["a": ["box-1"], "b": ["box-3"], "c": ["box-2"]],
                routes: ["ta": ["n": ["box-1"]], "tb": ["n": ["box-3"]], "tc": ["n": ["box-2"]]],
                predictedLatencyMs: ["ta": 1, "tb": 1, "tc": 1], objectiveMs: 1, provenOptimal: true)
            let seeding = MQTTConnection(configuration: try broker.configuration("planner"), logger: Self.logger)
            try await seeding.connect()
            try await seeding.publish(MQTTMessage(topic: topics.plan, payload: try previous.jsonBytes(), retain: true))
            await seeding.disconnect()

            var devices: [String: Device] = [:]
            for id in ["box-1", "box-2", "box-3"] { devices[id] = try await Device(id, broker: broker) }
            let aggregator = MQTTConnection(configuration: try broker.configuration("agg-1"), logger: Self.logger)
            try await aggregator.connect()
            let aggregatorInbox = aggregator.messages
            try await aggregator.subscribe(topics.plan)
            try await aggregator.subscribe(topics.allDeviceStates)
            let plans = Plans()
            let reader = Task {
                for await message in aggregatorInbox where !message.payload.isEmpty {
                    if message.topic == topics.plan, let plan = try? PlanMessage(json: message.payload) {
                        await plans.add(plan)
                    } else if let state = try? DeviceState(json: message.payload), state.status == .offline {
                        await plans.wentOffline(state.device)
                    }
                }
            }
            defer { reader.cancel() }

            let planner = PlannerService(
                connection: MQTTConnection(configuration: try broker.configuration("planner"), logger: Self.logger),
                instance: Self.instance, topics: topics, dynamicSecurity: true, logger: Self.logger)
            let running = Task { try await planner.run() }
            defer { running.cancel() }

            // The adopted plan's grants: box-2 receives c (its module), not a (box-1's).
            let box1 = try #require(devices["box-1"]), box2 = try #require(devices["box-2"])
            #expect(try await box2.receives("c", marker: "c", from: aggregator), "box-2 receives its module's invocations")
            #expect(try await box2.receives("a", marker: "c", from: aggregator) == false, "box-2 receives box-1's module")
            #expect(try await box1.receives("a", marker: "a", from: aggregator))
            let before = await plans.seen.last?.epoch ?? 0

            // box-3 leaves: b fits next to neither a nor c where they are, so a and c move together
            // and one of box-1 and box-2 loses its module to the other.
            try await devices["box-3"]?.leave()
            let plan = try await within(.seconds(15), "the plan without box-3") {
                while true {
                    if let plan = await plans.seen.last, plan.epoch > before { return plan }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(plan.devices == ["box-1", "box-2"])
            let bHost = try #require(plan.placement["b"]?.first)
            let (loser, winner, lost) = bHost == "box-1" ? (box1, box2, "a") : (box2, box1, "c")
            #expect(plan.placement[lost] == [winner.id], "\(lost) moved to \(winner.id): \(plan.placement)")

            // The new host receives the moved module; the old host, still subscribed to every
            // invocation topic of its own, no longer does (after the grant is narrowed), while it
            // receives b, its new module.
            #expect(try await winner.receives(lost, marker: lost, from: aggregator))
            var revoked = false
            for _ in 0..<20 where !revoked {
                revoked = try await !loser.receives(lost, marker: "b", from: aggregator)
                if !revoked { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(revoked, "\(loser.id) still receives \(lost) after the re-plan")
            for _ in 0..<3 { #expect(try await loser.receives(lost, marker: "b", from: aggregator) == false) }

            // The kicks did not cost the devices their place: no will, no further plan.
            try await Task.sleep(for: .seconds(2))
            let epochs = await plans.seen.map(\.epoch).filter { $0 > before }
            #expect(epochs == [plan.epoch], "plans after box-3 left: \(epochs)")
            let offline = await plans.offline
            #expect(!offline.contains("box-1") && !offline.contains("box-2"), "offline states: \(offline)")
            let log = try String(contentsOfFile: broker.process.logPath, encoding: .utf8)
            #expect(log.contains("\(loser.id) been disconnected by administrative action"), "the grant change kicked \(loser.id)")

            for device in devices.values { device.reannounce.cancel() }
            await aggregator.disconnect()
        }
    }
}
