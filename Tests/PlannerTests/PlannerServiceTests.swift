import Foundation
import LocalBroker
import Logging
import MQTTBus
import PlacementPlanning
import Planner
import S2M3Core
import TestSupport
import Testing

@Suite("Planner service")
struct PlannerServiceTests {
    static let logger = TestBroker.logger("PlannerTests")

    /// Real broker, real planner service, real announcer child processes: a plan appears for the
    /// three devices; after one child is SIGKILLed, a new epoch without it follows its will
    /// within one second.
    @Test func replansWhenAnnouncedDeviceIsKilled() async throws {
        let executable = try TestPaths.s2m3Executable
        let instance = try PlacementInstance(json: Data(contentsOf: TestPaths.repository.appendingPathComponent("examples/placement/example.json")))
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf"))
        try await MosquittoProcess.withRunning(configuration) { broker in
            let topics = Topics(root: "planner-test-\(getpid())/v1")
            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            func connection(_ id: String) -> MQTTConnection {
                MQTTConnection(configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "\(id)-\(getpid())"), logger: Self.logger)
            }
            let watcher = connection("watch")
            try await watcher.connect()
            let inbox = watcher.messages
            try await watcher.subscribe(topics.plan)
            try await watcher.subscribe(topics.allDeviceStates)

            // Bad input on a device topic is logged and ignored, never planned for.
            try await watcher.publish(MQTTMessage(topic: topics.deviceState("junk"), string: "not json", retain: true))
            let plannerConnection = connection("planner")
            let service = PlannerService(connection: plannerConnection, instance: instance, topics: topics, logger: Self.logger)
            let serviceTask = Task { try await service.run() }
            defer { serviceTask.cancel() }

            var children: [String: ChildProcess] = [:]
            defer { for child in children.values where !child.hasExited { child.send(SIGKILL) } }
            for id in ["dev-a", "dev-b", "dev-c"] {
                let child = try ChildProcess.spawn(executable, [
                    "device-announce", "--broker", endpoint.description, "--root", topics.root,
                    "--id", id, "--memory", "1000000000", "--gflops", "500",
                ], stdout: .pipe)
                children[id] = child
                let lines = child.outputLines()
                let ready = try await within(.seconds(20), "\(id) to announce") {
                    for await line in lines where line == "ready" { return true }
                    return false
                }
                try #require(ready, "\(id) exited before announcing")
            }

            // Reads the watcher's inbox until `done` returns a value.
            func next<T: Sendable>(_ what: String, _ done: @escaping @Sendable (MQTTMessage, ContinuousClock.Instant) throws -> T?) async throws -> T {
                try await within(.seconds(10), what) {
                    for await message in inbox {
                        if let value = try done(message, .now) { return value }
                    }
                    throw TimedOut(what: what)
                }
            }
            let first = try await next("a plan with all three devices") { (message, _) -> PlanMessage? in
                guard message.topic == topics.plan, let plan = try? PlanMessage(json: message.payload) else { return nil }
                return plan.devices == ["dev-a", "dev-b", "dev-c"] ? plan : nil
            }
            try first.validate()
            #expect(!first.placement.isEmpty)
            #expect(first.placement.values.allSatisfy { Set($0).isSubset(of: ["dev-a", "dev-b", "dev-c"]) })

            let victim = "dev-b"
            children[victim]!.send(SIGKILL)
            #expect(await children[victim]!.waitUntilExit() == 128 + SIGKILL)
            let willAt = try await next("the will of \(victim)") { (message, now) -> ContinuousClock.Instant? in
                guard message.topic == topics.deviceState(victim), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .offline && state.reason == DeviceState.lastWillReason ? now : nil
            }
            let (second, planAt) = try await next("a plan without \(victim)") { (message, now) -> (PlanMessage, ContinuousClock.Instant)? in
                guard message.topic == topics.plan, let plan = try? PlanMessage(json: message.payload) else { return nil }
                return plan.devices.contains(victim) ? nil : (plan, now)
            }
            let delay = planAt - willAt
            print("planner re-plan delay after the will: \(delay)")
            #expect(delay < .seconds(1))
            #expect(second.epoch == first.epoch + 1)
            #expect(second.devices == ["dev-a", "dev-c"])
            try second.validate()
            // Modules whose device remains stay where they were.
            for (module, hosts) in first.placement {
                for host in hosts where host != victim { #expect(second.placement[module]?.contains(host) == true) }
            }
            // One retained assignment per remaining device, of the new epoch.
            try await Task.sleep(for: .milliseconds(300))
            let checker = connection("checker")
            try await checker.connect()
            let checkerInbox = checker.messages
            try await checker.subscribe(topics.deviceAssignment("+"))
            // A marker after the retained ones: the killed device's assignment was cleared.
            try await checker.subscribe(topics.deviceTelemetry("end"))
            try await checker.publish(MQTTMessage(topic: topics.deviceTelemetry("end"), string: "end"))
            let assignments = try await within(.seconds(5), "the retained assignments") {
                var found: [String: Int] = [:]
                for await message in checkerInbox {
                    if message.topic == topics.deviceTelemetry("end") { break }
                    let assignment = try DeviceAssignment(json: message.payload)
                    found[assignment.device] = assignment.epoch
                }
                return found
            }
            #expect(assignments == ["dev-a": second.epoch, "dev-c": second.epoch])
            await checker.disconnect()

            // A restarted planner reads the retained plan back: same devices, so no new epoch.
            serviceTask.cancel()
            await plannerConnection.disconnect()
            let restartedConnection = connection("planner-2")
            let restarted = PlannerService(connection: restartedConnection, instance: instance, topics: topics, logger: Self.logger)
            let restartedTask = Task { try await restarted.run() }
            try await Task.sleep(for: .milliseconds(600))
            #expect(await restarted.currentPlan?.epoch == second.epoch)
            let marker = connection("marker")
            try await marker.connect()
            try await watcher.subscribe(topics.deviceTelemetry("marker"))
            try await marker.publish(MQTTMessage(topic: topics.deviceTelemetry("marker"), string: "marker"))
            // Everything the watcher saw since: no plan (the marker comes after any the planner sent).
            let newPlans = try await within(.seconds(5), "the marker") {
                var plans = 0
                for await message in inbox {
                    if message.topic == topics.plan { plans += 1 }
                    if message.topic == topics.deviceTelemetry("marker") { break }
                }
                return plans
            }
            #expect(newPlans == 0)
            restartedTask.cancel()
            await restartedConnection.disconnect()
            await marker.disconnect()
            await watcher.disconnect()
        }
    }
}
