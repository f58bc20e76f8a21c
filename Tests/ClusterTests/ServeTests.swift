import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// `s2m3 serve` (the monolithic runner as a service) as a child process on a real Mosquitto,
/// driven by `S2M3Client`.
@Suite("s2m3 serve", .serialized)
struct ServeTests {
    @Test("serve answers classify-image, and a bad request with a clear error; its /metrics counts them")
    func serveAnswersAndRejects() async throws {
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(
            template: TestPaths.repository.appendingPathComponent("broker-config/dev.conf").path))
        let log = NSTemporaryDirectory() + "s2m3-serve-test-\(UUID().uuidString.prefix(8)).log"
        let metricsPort = try MetricsScrape.freePortBase(count: 1)
        let serve = try ChildProcess.spawn(
            try TestPaths.s2m3Executable,
            ["serve", "--broker", "\(broker.host):\(broker.port)", "--root", "serve-test",
             "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path,
             "--models", TestPaths.cache.appendingPathComponent("models").path, "--log-level", "warning",
             "--metrics-port", String(metricsPort), "--metrics-host", "127.0.0.1"],
            stdout: .pipe, stderr: .appendToFile(log))
        let client = S2M3Client(
            connection: MQTTConnection(
                configuration: MQTTConfiguration(endpoints: [MQTTEndpoint(host: broker.host, port: broker.port)], clientID: "serve-test-client"),
                logger: UpCluster.logger),
            topics: Topics(root: "serve-test"), logger: UpCluster.logger)
        do {
            let lines = serve.outputLines()
            let ready = Task { () -> String? in
                for await line in lines where line.hasPrefix("ready") { return line }
                return nil
            }
            let timer = Task {
                try await Task.sleep(for: .seconds(180))
                ready.cancel()
            }
            let line = await ready.value
            timer.cancel()
            try #require(line != nil, "s2m3 serve did not become ready: \(String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self))")

            try await client.connect()
            let result = try await client.request(
                task: "classify-image", inputs: ["image": try ClusterTests.image("chelsea.jpg")], timeout: .seconds(60))
            guard case .labels(let labels)? = result.outputs["top"] else { throw ClusterTestError("no labels in \(result)") }
            #expect(labels.first?.label == "Egyptian cat")
            #expect(result.timeline.count >= 3)

            // No image: the task's input is missing.
            let error = await #expect(throws: S2M3ClientError.self) {
                _ = try await client.request(task: "classify-image", inputs: ["text": .text("a cat")], timeout: .seconds(30))
            }
            #expect(error?.taskError?.code == .missingInput, "\(String(describing: error))")
            #expect((error?.taskError?.reason.count ?? 0) > 10)
            // Unknown task.
            let unknown = await #expect(throws: S2M3ClientError.self) {
                _ = try await client.request(task: "no-such-task", inputs: ["text": .text("x")], timeout: .seconds(30))
            }
            #expect(unknown?.taskError?.code == .unknownTask)
            // Still serving.
            let again = try await client.request(
                task: "classify-image", inputs: ["image": try ClusterTests.image("coffee.jpg")], timeout: .seconds(60))
            guard case .labels(let second)? = again.outputs["top"] else { throw ClusterTestError("no labels in \(again)") }
            #expect(second.first?.label == "espresso")

            // Its metrics: answers by task and outcome (an unknown task counts as `other`).
            let response = try await within(.seconds(10), "serve's /metrics") { try await MetricsScrape.get(port: metricsPort) }
            let samples = MetricsScrape.samples(response.body)
            #expect(samples.total("s2m3_requests_total", ["task": "classify-image", "outcome": "result"]) == 2)
            #expect(samples.total("s2m3_requests_total", ["task": "classify-image", "outcome": "missing-input"]) == 1)
            #expect(samples.total("s2m3_requests_total", ["task": "other", "outcome": "unknown-task"]) == 1)
            #expect(samples.total("s2m3_requests_total") == 4)
            #expect(samples.total("s2m3_request_duration_seconds_count", ["task": "classify-image"]) == 2)
            #expect(samples.total("s2m3_bus_messages_total", ["direction": "in"]) >= 4)
        } catch {
            await client.close()
            serve.send(SIGKILL)
            await serve.waitUntilExit()
            await broker.stop()
            throw error
        }
        await client.close()
        serve.send(SIGTERM)
        let status = await serve.waitUntilExit()
        #expect(status == 0, "serve exits cleanly on SIGTERM")
        await broker.stop()
    }
}
