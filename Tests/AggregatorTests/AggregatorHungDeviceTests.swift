import Aggregator
import Catalog
import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// Issue 10, item 4 against real processes: two `s2m3 device` agents host classify-image's modules
/// (replicas); one is frozen with SIGSTOP, so the broker still holds its connection (keepalive
/// 10 s) and only its silence gives it away. Invocation timeouts are set far out (10 s), so only
/// the telemetry silence can move its work: every request, sent before or after the freeze, is
/// answered from the other device within 3 s of the freeze.
@Suite("Aggregator: a hung device", .serialized)
struct AggregatorHungDeviceTests {
    static let modules = ["image-preprocess", "effnet-lite0-trunk", "imagenet-head", "top-k"]

    @Test func workOfAFrozenDeviceIsRetriedOnAReplicaWithin3Seconds() async throws {
        let executable = try TestPaths.s2m3Executable
        // The devices check the digests of their weights: the catalog as a device reads it.
        let catalogPath = TestPaths.repository.appendingPathComponent("catalog/default.json").path
        let models = TestPaths.cache.appendingPathComponent("models").path
        let catalog = try ModuleCatalog(
            document: JSONDecoder().decode(CatalogDocument.self, from: Data(contentsOf: URL(fileURLWithPath: catalogPath))), modelsDirectory: models)
        let photo = try [UInt8](Data(contentsOf: TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg")))
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let watcher = harness.connection("watcher")
            try await watcher.connect()
            let inbox = watcher.messages
            try await watcher.subscribe(topics.allDeviceTelemetry)

            var devices: [String: ChildProcess] = [:]
            defer {
                for child in devices.values where !child.hasExited {
                    child.send(SIGCONT)
                    child.send(SIGKILL)
                }
            }
            for id in ["box-a", "box-b"] {
                devices[id] = try ChildProcess.spawn(executable, [
                    "device", "--broker", harness.endpoint.description, "--root", topics.root, "--id", id,
                    "--catalog", catalogPath, "--models", models, "--memory", "1GiB",
                ], stdout: .null, stderr: .appendToFile(NSTemporaryDirectory() + "hung-device-\(id)-\(getpid()).log"))
                let hosted = try Self.modules.map { module in
                    DeviceAssignment.HostedModule(module: module, digest: try #require(catalog.module(module)).digest, memoryBytes: 50_000_000)
                }
                let assignment = DeviceAssignment(epoch: 1, device: id, modules: hosted, timestampMs: Int(Date().timeIntervalSince1970 * 1000))
                try await watcher.publish(MQTTMessage(
                    topic: topics.deviceAssignment(id), payload: try assignment.jsonBytes(), retain: true,
                    properties: MQTTProperties(assignment.properties())))
            }
            try await within(.seconds(60), "both devices to load their assignment") {
                var applied: Set<String> = []
                for await message in inbox {
                    guard let telemetry = try? DeviceTelemetry(json: message.payload) else { continue }
                    if telemetry.assignment == .init(epoch: 1, status: .applied) { applied.insert(telemetry.device) }
                    if applied.count == 2 { return }
                }
            }
            let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a", "box-b"])
            try await watcher.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))

            let service = try harness.aggregator { $0.invocationTimeoutFloorMs = 10_000 }
            try await withService(service) {
                let client = S2M3Client(connection: harness.connection("client"), topics: topics)
                try await client.connect()
                let inputs: [String: TaskInput] = ["image": .media(contentType: MediaType.jpeg, bytes: photo)]
                // Warm up: both devices answer, the aggregator hears both report.
                for _ in 0..<4 { _ = try await client.request(task: "classify-image", inputs: inputs, timeout: .seconds(10)) }
                try await Task.sleep(for: .milliseconds(1_200))

                // Freeze the device the aggregator would pick first, with work on its way to it.
                let frozen = try #require(await service.replicaChooser.choose(module: "image-preprocess"))
                let live = frozen == "box-a" ? "box-b" : "box-a"
                let sendTimes = ContinuousClock.now
                let answers = try await withThrowingTaskGroup(of: (Int, TaskResult, Duration).self) { group in
                    for index in 0..<6 {
                        group.addTask {
                            if index > 0 { try await Task.sleep(for: .milliseconds(300 * index)) }
                            let result = try await client.request(task: "classify-image", inputs: inputs, timeout: .seconds(10))
                            return (index, result, ContinuousClock.now - sendTimes)
                        }
                        if index == 0 {
                            try await Task.sleep(for: .milliseconds(5))
                            devices[frozen]!.send(SIGSTOP)
                        }
                    }
                    var out: [(Int, TaskResult, Duration)] = []
                    for try await answer in group { out.append(answer) }
                    return out.sorted { $0.0 < $1.0 }
                }
                for (index, result, after) in answers {
                    let used = Set(result.timeline.map(\.device))
                    print("request \(index) (sent \(300 * index) ms after the freeze): answered after \(after) by \(used.sorted())")
                    #expect(after < .seconds(3), "request \(index) answered \(after) after the freeze")
                    #expect(used == [live], "request \(index) ran on \(used)")
                }
                let suspected = await service.replicaChooser.suspected
                #expect(suspected == [frozen])
                #expect(!devices[frozen]!.hasExited)
                await client.close()
            }
            await watcher.disconnect()
        }
    }
}
