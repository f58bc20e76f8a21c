import Foundation
import LocalBroker
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Core
import TestSupport
import Testing

/// The planner's presence on a real Mosquitto: its retained `online` state, and telemetry with the
/// plan's epoch, the live devices, the plans made and the last solve time.
@Suite("Planner presence")
struct PlannerPresenceTests {
    @Test func announcesOnlineAndReportsItsPlans() async throws {
        let instance = try PlacementInstance(json: Data(contentsOf: TestPaths.repository.appendingPathComponent("examples/placement/example.json")))
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf"))
        try await MosquittoProcess.withRunning(configuration) { broker in
            let topics = Topics(root: "planner-presence-\(getpid())/v1")
            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            func connection(_ id: String) -> MQTTConnection {
                MQTTConnection(
                    configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "\(id)-\(getpid())"),
                    logger: PlannerServiceTests.logger)
            }
            let watcher = connection("presence-watch")
            try await watcher.connect()
            let inbox = watcher.messages
            try await watcher.subscribe(topics.plannerState("planner"))
            try await watcher.subscribe(topics.plannerTelemetry("planner"), qos: .atMostOnce)
            // One device, announced the way an agent does.
            let now = Int(Date().timeIntervalSince1970 * 1000)
            try await watcher.publish(MQTTMessage(
                topic: topics.deviceState("dev-a"),
                payload: try DeviceState(device: "dev-a", status: .online, session: "s1", timestampMs: now).jsonBytes(), retain: true))
            try await watcher.publish(MQTTMessage(
                topic: topics.deviceCapabilities("dev-a"),
                payload: try DeviceCapabilities(
                    device: "dev-a", session: "s1", memoryBudgetBytes: 4_000_000_000, computeGflops: 500, cores: 2, sensors: [],
                    limits: .init(queueCapacity: 16, inferenceThreads: 1), softwareVersion: "test", timestampMs: now).jsonBytes(),
                retain: true))

            // The default presence: id `planner`, a fresh session.
            let service = PlannerService(
                connection: connection("planner"), instance: instance, topics: topics, telemetryInterval: .milliseconds(100), logger: PlannerServiceTests.logger)
            let serviceTask = Task { try await service.run() }
            defer { serviceTask.cancel() }

            let (state, telemetry) = try await within(.seconds(15), "the planner's state and telemetry after its first plan") {
                var state: ServiceState?
                for await message in inbox {
                    if message.topic == topics.plannerState("planner") {
                        state = try ServiceState(json: message.payload)
                    } else if let state, let telemetry = try? PlannerTelemetry(json: message.payload), telemetry.replans == 1 {
                        return (state, telemetry)
                    }
                }
                throw TimedOut(what: "telemetry before the connection ended")
            }
            #expect(state.role == .planner && state.id == "planner" && state.status == .online)
            #expect(telemetry.liveDevices == ["dev-a"] && telemetry.epoch != nil)
            #expect(telemetry.lastSolveMs.map { $0 >= 0 && $0 < 3_000 } == true, "solved within the planner's limit")
            #expect(telemetry.lastPlanAtMs != nil)
            #expect(await service.currentPlan?.epoch == telemetry.epoch)
            await watcher.disconnect()
        }
    }
}
