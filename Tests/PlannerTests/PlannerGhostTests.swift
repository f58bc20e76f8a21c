import Foundation
import LocalBroker
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Core
import TestSupport
import Testing

/// Devices known only from what they may say, against a real broker without ACLs: a ghost made of
/// retained state and capabilities joins the plan and leaves it when its retained state is cleared;
/// a payload naming another device than its topic changes nothing.
@Suite("Planner service: ghosts and forged payloads")
struct PlannerGhostTests {
    static let logger = TestBroker.logger("PlannerTests")

    static func capabilities(_ device: String, session: String) -> DeviceCapabilities {
        DeviceCapabilities(
            device: device, session: session, memoryBudgetBytes: 1_000_000_000, computeGflops: 500, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)
    }

    @Test func aGhostLeavesWhenItsRetainedStateIsClearedAndForgedPayloadsAreIgnored() async throws {
        let instance = try PlacementInstance(json: Data(contentsOf: TestPaths.repository.appendingPathComponent("examples/placement/example.json")))
        try await TestBroker.withDev { broker in
            let topics = Topics(root: TestBroker.unique("planner-ghost") + "/v1")
            let writer = TestBroker.connection(broker, id: "writer", logger: Self.logger)
            try await writer.connect()
            let inbox = writer.messages
            try await writer.subscribe(topics.plan)
            func announce(_ device: String, onTopicOf topicDevice: String, status: DeviceState.Status = .online) async throws {
                try await writer.publish(MQTTMessage(
                    topic: topics.deviceCapabilities(topicDevice), payload: try Self.capabilities(device, session: "s-\(device)").jsonBytes(),
                    retain: true))
                try await writer.publish(MQTTMessage(
                    topic: topics.deviceState(topicDevice),
                    payload: try DeviceState(device: device, status: status, session: "s-\(device)", timestampMs: 1).jsonBytes(), retain: true))
            }
            try await announce("box-1", onTopicOf: "box-1")
            try await announce("ghost", onTopicOf: "ghost")

            let service = PlannerService(
                connection: TestBroker.connection(broker, id: "planner", logger: Self.logger), instance: instance, topics: topics,
                logger: Self.logger)
            let serviceTask = Task { try await service.run() }
            defer { serviceTask.cancel() }

            func plan(_ what: String, _ devices: [String]) async throws -> PlanMessage {
                try await within(.seconds(10), what) {
                    for await message in inbox {
                        guard let plan = try? PlanMessage(json: message.payload) else { continue }
                        if plan.devices == devices { return plan }
                    }
                    throw TimedOut(what: what)
                }
            }
            let first = try await plan("a plan with box-1 and the ghost", ["box-1", "ghost"])

            // box-2's topics carrying box-1's offline state and a third device: ignored.
            try await announce("box-3", onTopicOf: "box-2")
            try await writer.publish(MQTTMessage(
                topic: topics.deviceState("box-2"),
                payload: try DeviceState.lastWill(device: "box-1", session: "s-box-1", timestampMs: 2).jsonBytes(), retain: true))
            // Clearing the ghost's retained state: the next plan is box-1's alone, and nothing in
            // between (the forged messages changed nothing).
            try await writer.publish(MQTTMessage(topic: topics.deviceState("ghost"), payload: [], retain: true))
            let second = try await within(.seconds(10), "the next plan") {
                for await message in inbox {
                    if let plan = try? PlanMessage(json: message.payload), plan.epoch > first.epoch { return plan }
                }
                throw TimedOut(what: "the next plan")
            }
            #expect(second.devices == ["box-1"], "plan \(second.epoch): \(second.devices)")
            for topic in [topics.deviceState("box-1"), topics.deviceCapabilities("box-1"), topics.deviceState("box-2"),
                          topics.deviceCapabilities("box-2"), topics.deviceCapabilities("ghost"), topics.plan] {
                try await writer.publish(MQTTMessage(topic: topic, payload: [], retain: true))
            }
            await writer.disconnect()
        }
    }
}
