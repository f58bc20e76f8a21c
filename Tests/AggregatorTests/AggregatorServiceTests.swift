import Aggregator
import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import Testing
import TestSupport

/// The aggregator service against a real Mosquitto: bad requests, deadlines, and the
/// `s2m3 aggregator` command as a child process. Routing over real devices (parallel branches,
/// retries when a device dies, concurrency, draining) is tested end to end in Tests/ClusterTests.
@Suite("Aggregator service", .serialized)
struct AggregatorServiceTests {
    struct Sent: Sendable {
        var id: String
        var task: String
        var payload: [UInt8]
        var contentType: String?
        var code: TaskErrorCode
    }

    /// Each bad request is answered on errors/{task} and on its response topic with its correlation
    /// data and the right code; garbage on every other topic is ignored; then a request with a plan
    /// whose device never answers gets deadline-exceeded, and the service is still serving.
    @Test func answersBadRequestsAndKeepsServing() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator { $0.maxPayloadBytes = 64 * 1024 }
            try await withService(service) {
                let watcher = harness.connection("watcher")
                try await watcher.connect()
                let inbox = watcher.messages
                let replyTopic = topics.clientReplies("watcher")
                try await watcher.subscribe("\(topics.root)/errors/+")
                try await watcher.subscribe(replyTopic)
                for topic in [topics.plan, topics.deviceState("x"), topics.deviceTelemetry("x"), topics.aggregatorPartials("agg-1", device: "x")] {
                    try await watcher.publish(MQTTMessage(topic: topic, payload: [0xDE, 0xAD, 0xBE, 0xEF]))
                }
                let json = { (text: String) in Array(text.utf8) }
                let sent = [
                    Sent(id: "bad-1", task: "no-such-task", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"text":"hi"}}"#), contentType: MediaType.json, code: .unknownTask),
                    Sent(id: "bad-2", task: "match-image-text", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"texts":["a"]}}"#), contentType: MediaType.json, code: .missingInput),
                    Sent(id: "bad-3", task: "classify-image", payload: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], contentType: MediaType.jpeg, code: .badInput),
                    Sent(id: "bad-4", task: "classify-image", payload: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], contentType: nil, code: .malformedRequest),
                    Sent(id: "bad-5", task: "classify-image", payload: [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 1, count: 100_000), contentType: MediaType.jpeg, code: .payloadTooLarge),
                    Sent(id: "bad-6", task: "classify-image", payload: json(#"{"schema":"s2m3.device-state/1","inputs":{"text":"x"}}"#), contentType: MediaType.json, code: .malformedRequest),
                ]
                for request in sent {
                    try await watcher.publish(MQTTMessage(
                        topic: topics.requests(request.task), payload: request.payload,
                        properties: MQTTProperties(contentType: request.contentType, correlationData: Array(request.id.utf8), responseTopic: replyTopic)))
                }
                // Every request: one error on errors/{task} and one on the response topic.
                let answers = try await within(.seconds(10), "the errors of \(sent.count) bad requests") {
                    var seen: [String: [(String, TaskErrorMessage)]] = [:]
                    for await message in inbox {
                        let error = try TaskErrorMessage(json: message.payload)
                        let id = String(decoding: message.properties.correlationData ?? [], as: UTF8.self)
                        seen[id, default: []].append((message.topic, error))
                        if seen.values.reduce(0, { $0 + $1.count }) == 2 * sent.count { break }
                    }
                    return seen.mapValues { $0.map { ($0.0, $0.1.code) } }
                }
                for request in sent {
                    let got = answers[request.id] ?? []
                    #expect(Set(got.map(\.0)) == [topics.errors(request.task), replyTopic], "\(request.id): \(got)")
                    #expect(got.allSatisfy { $0.1 == request.code }, "\(request.id): \(got)")
                }

                // A plan whose only device never answers: deadline-exceeded through the client.
                let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["ghost"])
                try await watcher.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(10))
                try await client.connect()
                let started = ContinuousClock.now
                do {
                    _ = try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .milliseconds(800))
                    Issue.record("a request nobody serves returned a result")
                } catch let error as S2M3ClientError {
                    #expect(error.code == .taskFailed)
                    #expect(error.taskError?.code == .deadlineExceeded, "\(error)")
                }
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(750) && waited < .seconds(6), "\(waited)")
                #expect(await service.planEpoch == 1)
                #expect(await service.statistics.errors == sent.count + 1)
                await client.close()
                await watcher.disconnect()
            }
        }
    }

    static let placement: [String: [String]] = [
        "image-preprocess": ["box-a"], "effnet-lite0-trunk": ["box-a"], "imagenet-head": ["box-a"],
        "wordpiece-tokenize": ["box-b"], "minilm-l6": ["box-b"], "label-bridge": ["box-b"],
    ]

    static func matchInputs() -> [String: TaskInput] {
        ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg), "texts": .texts(["a cat", "a dog"])]
    }

    /// With devices answering over the bus, the two branches of match-image-text run at the same
    /// time (overlapping timeline spans); with `sequential` they do not.
    /// `s2m3 aggregator` as a child process: prints ready, answers an unknown task with an error and
    /// stops cleanly on SIGTERM. (With real devices, `s2m3 request` and draining on SIGTERM are
    /// tested end to end in Tests/ClusterTests.)
    @Test func commandRunsAsAChildProcess() async throws {
        let executable = try TestPaths.s2m3Executable
        try await BrokerHarness.withBroker { harness in
            let child = try ChildProcess.spawn(executable, [
                "aggregator", "--id", "agg-child", "--broker", harness.endpoint.description, "--root", harness.topics.root,
                "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path, "--log-level", "error",
            ], stdout: .pipe)
            defer { if !child.hasExited { child.send(SIGKILL) } }
            let lines = child.outputLines()
            let ready = try await within(.seconds(30), "the aggregator to start") {
                for await line in lines where line == "ready" { return true }
                return false
            }
            try #require(ready, "s2m3 aggregator exited before it was ready")
            let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
            try await client.connect()
            do {
                _ = try await client.request(task: "no-such-task", inputs: ["text": .text("hello")], timeout: .seconds(5))
                Issue.record("an unknown task returned a result")
            } catch let error as S2M3ClientError {
                #expect(error.taskError?.code == .unknownTask, "\(error)")
                #expect(error.taskError?.reason.contains("classify-image") == true)
            }
            await client.close()

            child.send(SIGTERM)
            #expect(await child.waitUntilExit() == 0, "SIGTERM ends the aggregator cleanly")
        }
    }
}
