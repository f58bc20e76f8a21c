import Foundation
import LocalBroker
import Logging
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Core
import TestSupport
import Testing

/// Issue 10, item 6: the broker is SIGKILLed (its retained messages die with it) and restarted on
/// the same port. The live devices are the same afterwards, so nothing is re-planned: only the
/// planner's republication after its reconnect brings the plan and the assignments back, with the
/// same epoch, within 5 s.
@Suite("Planner service: broker restart")
struct PlannerBrokerRestartTests {
    static let logger = TestBroker.logger("PlannerTests")

    @Test func republishesPlanAndAssignmentsAfterTheBrokerRestarts() async throws {
        let executable = try TestPaths.s2m3Executable
        let instance = try PlacementInstance(json: Data(contentsOf: TestPaths.repository.appendingPathComponent("examples/placement/example.json")))
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf"))
        try await MosquittoProcess.withRunning(configuration) { broker in
            let topics = Topics(root: "planner-restart-\(getpid())/v1")
            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            func connection(_ id: String) -> MQTTConnection {
                MQTTConnection(configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "\(id)-\(getpid())"), logger: Self.logger)
            }
            let plannerConnection = connection("planner")
            let service = PlannerService(connection: plannerConnection, instance: instance, topics: topics, logger: Self.logger)
            let serviceTask = Task { try await service.run() }
            defer { serviceTask.cancel() }
            var children: [ChildProcess] = []
            defer { for child in children where !child.hasExited { child.send(SIGKILL) } }
            for id in ["dev-a", "dev-b"] {
                let child = try ChildProcess.spawn(executable, [
                    "device-announce", "--broker", endpoint.description, "--root", topics.root,
                    "--id", id, "--memory", "1000000000", "--gflops", "500",
                ], stdout: .pipe)
                children.append(child)
                let lines = child.outputLines()
                let ready = try await within(.seconds(20), "\(id) to announce") {
                    for await line in lines where line == "ready" { return true }
                    return false
                }
                try #require(ready, "\(id) exited before announcing")
            }
            let before = try await Self.retained(connection, topics, devices: ["dev-a", "dev-b"], within: .seconds(10))

            await broker.kill()
            try await broker.restart()
            let restarted = ContinuousClock.now
            let after = try await Self.retained(connection, topics, devices: ["dev-a", "dev-b"], within: .seconds(5))
            print("planner: plan epoch \(after.epoch) and its assignments retained again \(ContinuousClock.now - restarted) after the broker restarted")
            #expect(after == before, "the same plan, same epoch")
            #expect(await service.currentPlan == before)
            await plannerConnection.disconnect()
        }
    }

    /// Polls a fresh subscriber until the retained plan names `devices` and each has a retained
    /// assignment of its epoch.
    static func retained(
        _ connection: (String) -> MQTTConnection, _ topics: Topics, devices: [String], within limit: Duration
    ) async throws -> PlanMessage {
        let deadline = ContinuousClock.now + limit
        var attempt = 0
        while ContinuousClock.now < deadline {
            attempt += 1
            let reader = connection("reader-\(attempt)")
            if (try? await reader.connect()) != nil {
                let plan = try? await within(.seconds(2), "the retained messages") { () async throws -> PlanMessage? in
                    let inbox = reader.messages
                    try await reader.subscribe(topics.plan)
                    try await reader.subscribe(topics.deviceAssignment("+"))
                    let marker = topics.deviceTelemetry("marker")
                    try await reader.subscribe(marker)
                    try await reader.publish(MQTTMessage(topic: marker, string: "end"))
                    var plan: PlanMessage?
                    var epochs: [String: Int] = [:]
                    for await message in inbox {
                        if message.topic == marker { break }
                        if message.topic == topics.plan { plan = try? PlanMessage(json: message.payload) }
                        if let assignment = try? DeviceAssignment(json: message.payload) { epochs[assignment.device] = assignment.epoch }
                    }
                    guard let plan, plan.devices == devices, devices.allSatisfy({ epochs[$0] == plan.epoch }) else { return nil }
                    return plan
                }
                await reader.disconnect()
                if let plan { return plan }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TimedOut(what: "the retained plan and assignments of \(devices)")
    }
}
