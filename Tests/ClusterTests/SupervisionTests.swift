import Foundation
import LocalCluster
import MQTTBus
import Runtime
import S2M3Client
import S2M3Core
import Synchronization
import TestSupport
import Testing

/// The restart policy's arithmetic (pure).
@Suite("Restart policy")
struct RestartPolicyTests {
    @Test func backOffDoublesToTheCapAndTheFifthCrashInAMinuteIsACrashLoop() {
        var history = CrashHistory(policy: RestartPolicy())
        let start = ContinuousClock.now
        let decisions = (0..<5).map { history.record(at: start + .seconds($0)) }
        #expect(decisions == [
            .restart(after: .milliseconds(500), crash: 1), .restart(after: .seconds(1), crash: 2),
            .restart(after: .seconds(2), crash: 3), .restart(after: .seconds(4), crash: 4), .crashLoop(crashes: 5),
        ])
    }

    @Test func crashesOutsideTheWindowAreForgottenAndTheDelayIsCapped() {
        var policy = RestartPolicy()
        policy.crashLimit = 100
        var history = CrashHistory(policy: policy)
        let start = ContinuousClock.now
        for second in 0..<10 { _ = history.record(at: start + .seconds(second)) }
        #expect(history.record(at: start + .seconds(10)) == .restart(after: .seconds(8), crash: 11), "capped at 8 s")
        #expect(history.record(at: start + .seconds(200)) == .restart(after: .milliseconds(500), crash: 1), "a minute later: forgotten")
    }
}

/// Supervision against a real cluster (the LocalCluster library in this process; broker, planner,
/// aggregator and devices as `s2m3` children): a SIGKILLed broker or device is restarted and the
/// cluster answers again; a service that crashes at once ends in a crash-loop report.
@Suite("Local cluster supervision", .serialized)
struct SupervisionTests {
    /// The events a cluster told, in order.
    final class Events: Sendable {
        private let seen = Mutex<[ClusterEvent]>([])
        func append(_ event: ClusterEvent) { seen.withLock { $0.append(event) } }
        var all: [ClusterEvent] { seen.withLock { $0 } }
    }

    static func configuration(devices: Int, deviceArguments: [String] = ["--compute-gflops", "100"]) async throws -> LocalClusterConfiguration {
        let executable = try TestPaths.s2m3Executable
        let cluster = try await ClusterCatalog.load(
            catalog: TestPaths.repository.appendingPathComponent("catalog/default.json").path,
            models: TestPaths.cache.appendingPathComponent("models").path,
            measure: { module in
                try ModuleCostProbe.measureInChildProcess(
                    executable: executable, arguments: ["probe-module", module.filePath ?? "", "--timed"], module: module.id)
            })
        var configuration = LocalClusterConfiguration(
            cluster: cluster, logDirectory: NSTemporaryDirectory() + "s2m3-supervision-\(UUID().uuidString.prefix(8))")
        configuration.executable = executable
        configuration.devices = devices
        configuration.deviceMemory = 600_000_000
        configuration.deviceArguments = deviceArguments
        configuration.broker = .start(port: 0)
        configuration.clusterFile = nil
        configuration.readyTimeout = .seconds(240)
        return configuration
    }

    /// Sends classify-image with a fresh client (3 s to answer) until one is answered; the seconds since `start`.
    static func firstAnswer(_ endpoint: MQTTEndpoint, since start: ContinuousClock.Instant) async throws -> Double {
        let image = try ClusterTests.image("chelsea.jpg")
        return try await within(.seconds(120), "a request answered") {
            while true {
                let client = S2M3Client(
                    connection: MQTTConnection(
                        configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "supervision-\(UUID().uuidString.prefix(8))"),
                        logger: UpCluster.logger),
                    logger: UpCluster.logger)
                var answered = false
                if (try? await client.connect()) != nil {
                    answered = (try? await client.request(task: "classify-image", inputs: ["image": image], timeout: .seconds(3))) != nil
                }
                await client.close()
                if answered { return Self.seconds(ContinuousClock.now - start) }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("a SIGKILLed broker and a SIGKILLed device are restarted and the cluster answers again", .timeLimit(.minutes(8)))
    func brokerAndDeviceRestart() async throws {
        let events = Events()
        let cluster = try await RunningCluster.start(try await Self.configuration(devices: 2)) { events.append($0) }
        do {
            let endpoint = cluster.endpoint
            _ = try await Self.firstAnswer(endpoint, since: .now)

            // The broker: restarted on the same port; the planner re-publishes the plan; answered again.
            let broker = try #require(cluster.broker.pid)
            let killedBroker = ContinuousClock.now
            kill(broker, SIGKILL)
            let brokerUp = try await within(.seconds(30), "the broker restarted") {
                while !events.all.contains(where: { if case .brokerRestarted = $0 { true } else { false } }) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                return Self.seconds(ContinuousClock.now - killedBroker)
            }
            let brokerBack = try await Self.firstAnswer(endpoint, since: killedBroker)
            print("supervision: broker SIGKILL → broker accepting again after \(String(format: "%.2f", brokerUp)) s, "
                + "first answered request after \(String(format: "%.2f", brokerBack)) s")
            #expect(brokerBack < 60, "answered \(brokerBack) s after the broker was killed")
            #expect(cluster.broker.pid != nil && cluster.broker.pid != broker, "a new broker process")
            #expect(cluster.endpoint == endpoint)
            let restarts = events.all.compactMap { event -> ClusterBroker? in
                if case .brokerRestarted(let broker) = event { return broker }
                return nil
            }
            #expect(restarts.count == 1 && restarts.first?.endpoint == endpoint.description, "\(restarts)")
            let plan = try await Self.retainedPlan(endpoint)
            #expect(Set(plan.devices) == ["box-1", "box-2"], "the planner re-published its plan: \(plan.devices)")

            // A device: restarted, back in the plan with its assignment applied, answering.
            let device = try #require(cluster.services.first { $0.name == "box-2" })
            let killedDevice = ContinuousClock.now
            kill(device.pid, SIGKILL)
            let back = try await within(.seconds(120), "box-2 restarted and applying the plan") {
                try await Self.deviceApplied("box-2", endpoint, notPID: device.pid, cluster: cluster)
            }
            let deviceBack = Self.seconds(back - killedDevice)
            print("supervision: device SIGKILL → back in the plan with its assignment applied after \(String(format: "%.2f", deviceBack)) s")
            #expect(deviceBack < 90)
            let exits = events.all.filter { if case .serviceExited("box-2", 137, _, .some, 1) = $0 { true } else { false } }
            #expect(exits.count == 1, "box-2's exit told once with its restart")
            _ = try await Self.firstAnswer(endpoint, since: .now)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
        #expect(events.all.contains { if case .brokerStopped = $0 { true } else { false } })
    }

    static func retainedPlan(_ endpoint: MQTTEndpoint) async throws -> PlanMessage {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "supervision-plan-\(UUID().uuidString.prefix(8))"),
            logger: UpCluster.logger)
        try await connection.connect()
        let messages = connection.messages
        try await connection.subscribe(Topics().plan)
        let plan = try await within(.seconds(30), "the retained plan") {
            for await message in messages where !message.payload.isEmpty { return try PlanMessage(json: message.payload) }
            throw ClusterTestError("no plan")
        }
        await connection.disconnect()
        return plan
    }

    /// Waits until `device` runs as a new process, the plan names it and its telemetry reports
    /// that plan's assignment applied; returns when.
    static func deviceApplied(_ device: String, _ endpoint: MQTTEndpoint, notPID: Int32, cluster: RunningCluster) async throws -> ContinuousClock.Instant {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "supervision-watch-\(UUID().uuidString.prefix(8))"),
            logger: UpCluster.logger)
        try await connection.connect()
        let messages = connection.messages
        let topics = Topics()
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.deviceTelemetry(device))
        var plan: PlanMessage?
        var applied: Int?
        for await message in messages where !message.payload.isEmpty {
            if message.topic == topics.plan {
                plan = try? PlanMessage(json: message.payload)
            } else if let telemetry = try? DeviceTelemetry(json: message.payload), telemetry.assignment?.status == .applied {
                applied = telemetry.assignment?.epoch
            }
            let restarted = cluster.services.first { $0.name == device }.map { $0.pid != notPID && kill($0.pid, 0) == 0 } ?? false
            if restarted, let plan, plan.devices.contains(device), applied == plan.epoch {
                await connection.disconnect()
                return .now
            }
        }
        throw ClusterTestError("the bus closed")
    }

    @Test("a device that exits at once ends in a crash-loop report, not an endless loop", .timeLimit(.minutes(3)))
    func crashLoop() async throws {
        let events = Events()
        // --compute-gflops 0: the device refuses its arguments and exits at once, every time.
        let configuration = try await Self.configuration(devices: 1, deviceArguments: ["--compute-gflops", "0"])
        let start = ContinuousClock.now
        var thrown: (any Error)?
        do {
            let cluster = try await RunningCluster.start(configuration) { events.append($0) }
            await cluster.stop()
        } catch {
            thrown = error
        }
        let elapsed = Self.seconds(ContinuousClock.now - start)
        let error = try #require(thrown as? LocalClusterError, "the cluster did not start: \(String(describing: thrown))")
        #expect(error.code == .crashLoop)
        let message = error.description
        #expect(message.contains("box-1 crashed 5 times") && message.contains("crash loop"), "\(message)")
        #expect(message.contains(configuration.logDirectory + "/box-1.log"), "names the log: \(message)")
        let restarted = events.all.filter { if case .serviceRestarted(let service) = $0 { service.name == "box-1" } else { false } }
        #expect(restarted.count == 4, "restarted 4 times before giving up")
        #expect(elapsed < 60, "gave up after \(elapsed) s")
        #expect(events.all.contains { if case .brokerStopped = $0 { true } else { false } }, "start stopped the broker it started")
    }

    @Test("`s2m3 up` exits 1 naming the service and its log on a crash loop", .timeLimit(.minutes(3)))
    func upReportsACrashLoop() async throws {
        let cache = try S2M3Run.privateCache()
        let logs = NSTemporaryDirectory() + "s2m3-supervision-up-\(UUID().uuidString.prefix(8))"
        let outcome = try await S2M3Run.run(
            ["up", "--port", "0", "--devices", "1", "--device-gflops", "0", "--logs", logs,
             "--models", TestPaths.cache.appendingPathComponent("models").path],
            environment: ["S2M3_CACHE": cache], limit: .seconds(150))
        #expect(outcome.status == 1, "\(outcome.output)")
        #expect(outcome.output.contains("s2m3 up: box-1 exited unexpectedly (status"), "\(outcome.output)")
        #expect(outcome.output.contains("restarting it in 0.5 s (crash 1 of 5 within 60 s)"), "\(outcome.output)")
        #expect(outcome.output.contains("box-1 crashed 5 times") && outcome.output.contains(logs + "/box-1.log"), "\(outcome.output)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/cluster.env"), "cluster.env removed")
    }
}
