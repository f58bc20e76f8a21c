import Aggregator
import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// Issue 10, item 6: broker restarts are routine. A real planner and two real device agents (child
/// processes), an aggregator and a client under light load (one classify-image request every
/// 150 ms); the broker is SIGKILLed (its retained messages die with it) and restarted on the same
/// port. The plan and every assignment are retained again within 5 s, and every request sent
/// ends in a result or an explicit error, counted; none goes unanswered.
@Suite("Broker restart", .serialized)
struct BrokerRestartTests {
    enum Outcome: Hashable { case result, error(String), unanswered }

    @Test func planAndAssignmentsComeBackAndEveryRequestIsAnswered() async throws {
        let executable = try TestPaths.s2m3Executable
        let catalogPath = TestPaths.repository.appendingPathComponent("catalog/default.json").path
        let models = TestPaths.cache.appendingPathComponent("models").path
        let photo = try [UInt8](Data(contentsOf: TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg")))
        try await TestBroker.withDev { broker in
            let harness = BrokerHarness(endpoint: MQTTEndpoint(host: broker.host, port: broker.port), topics: Topics(root: TestBroker.unique("restart") + "/v1"))
            let topics = harness.topics
            let common = ["--broker", harness.endpoint.description, "--root", topics.root, "--catalog", catalogPath, "--models", models]
            var children: [ChildProcess] = []
            defer { for child in children where !child.hasExited { child.send(SIGKILL) } }
            let plannerLog = NSTemporaryDirectory() + "broker-restart-planner-\(getpid()).log"
            children.append(try ChildProcess.spawn(executable, ["planner"] + common, stdout: .null, stderr: .appendToFile(plannerLog)))
            for id in ["box-a", "box-b"] {
                children.append(try ChildProcess.spawn(executable, ["device", "--id", id, "--memory", "600MB"] + common, stdout: .null, stderr: .null))
            }
            let service = try harness.aggregator()
            try await withService(service) {
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(3))
                try await client.connect()
                let inputs: [String: TaskInput] = ["image": .media(contentType: MediaType.jpeg, bytes: photo)]
                // Serving: both devices planned and loaded (a request succeeds).
                let plan = try await Self.retained(harness, devices: 2, within: .seconds(120))
                try await within(.seconds(120), "a first result") {
                    while true {
                        if (try? await client.request(task: "classify-image", inputs: inputs, timeout: .seconds(5))) != nil { return }
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }

                // Light load through the restart: 40 requests, one every 150 ms.
                let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                    for index in 0..<40 {
                        group.addTask {
                            try await Task.sleep(for: .milliseconds(150 * index))
                            do {
                                _ = try await client.request(task: "classify-image", inputs: inputs, timeout: .seconds(8))
                                return .result
                            } catch let error as S2M3ClientError where error.code == .taskFailed {
                                return .error(error.taskError?.code.rawValue ?? "task-failed")
                            } catch let error as S2M3ClientError where error.code == .timeout {
                                return .unanswered
                            }
                        }
                    }
                    try await Task.sleep(for: .milliseconds(1_000))
                    // (Telemetry may re-plan at any time: measured speeds replace announced ones.)
                    let before = try await Self.retained(harness, devices: 2, within: .seconds(5))
                    await broker.kill()
                    try await broker.restart()
                    let restarted = ContinuousClock.now
                    let back = try await Self.retained(harness, devices: 2, within: .seconds(5))
                    let after = ContinuousClock.now - restarted
                    print("broker restarted: plan epoch \(back.epoch) and both assignments retained again after \(after)")
                    #expect(back.epoch >= before.epoch && before.epoch >= plan.epoch, "the plan, republished (or a newer one)")
                    var out: [Outcome] = []
                    for try await outcome in group { out.append(outcome) }
                    return out
                }
                var counts: [Outcome: Int] = [:]
                for outcome in outcomes { counts[outcome, default: 0] += 1 }
                print("40 requests through a broker restart: \(counts)")
                #expect(outcomes.count == 40)
                #expect(counts[.unanswered] == nil, "\(counts)")
                #expect((counts[.result] ?? 0) > 0)
                await client.close()
            }
        }
    }

    /// The retained plan (with `devices` devices) and an assignment of its epoch for each, read by a
    /// fresh subscriber, polling until `limit`.
    static func retained(_ harness: BrokerHarness, devices: Int, within limit: Duration) async throws -> PlanMessage {
        try await within(limit, "the retained plan and \(devices) assignments") {
            while true {
                if let plan = try? await Self.readRetained(harness), plan.devices.count == devices { return plan }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private static func readRetained(_ harness: BrokerHarness) async throws -> PlanMessage? {
        let reader = harness.connection("reader")
        try await reader.connect()
        do {
            let plan = try await readRetained(harness, with: reader)
            await reader.disconnect()
            return plan
        } catch {
            await reader.disconnect()
            throw error
        }
    }

    private static func readRetained(_ harness: BrokerHarness, with reader: MQTTConnection) async throws -> PlanMessage? {
        let topics = harness.topics
        let inbox = reader.messages
        try await reader.subscribe(topics.plan)
        try await reader.subscribe(topics.deviceAssignment("+"))
        // A marker after the retained messages.
        let marker = topics.deviceTelemetry("marker-\(UUID().uuidString.prefix(6))")
        try await reader.subscribe(marker)
        try await reader.publish(MQTTMessage(topic: marker, string: "end"))
        var plan: PlanMessage?
        var assigned: [String: Int] = [:]
        for await message in inbox {
            if message.topic == marker { break }
            if message.topic == topics.plan { plan = try? PlanMessage(json: message.payload) }
            if let assignment = try? DeviceAssignment(json: message.payload) { assigned[assignment.device] = assignment.epoch }
        }
        guard let plan, plan.devices.allSatisfy({ assigned[$0] == plan.epoch }) else { return nil }
        return plan
    }
}
