import Aggregator
import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import Testing
import TestSupport

/// Issue 10 against a real Mosquitto: the aggregator service answers every hostile request once
/// and keeps serving; the client waits past a `duplicate-request` that answers a redelivered copy.
@Suite("Aggregator service: hostile requests", .serialized)
struct AggregatorHostileServiceTests {
    @Test func everyHostileRequestGetsOneAnswerAndTheServiceKeepsServing() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator()
            try await withService(service) {
                let watcher = harness.connection("watcher")
                try await watcher.connect()
                let inbox = watcher.messages
                let reply = topics.clientReplies("watcher")
                try await watcher.subscribe(reply)
                let json = { (text: String) in Array(text.utf8) }
                var many = TensorBundle()
                for index in 0..<10_000 { try many.set(BundleTensor(uint8s: [1], shape: [1]), named: "t\(index)") }
                let sent: [(id: String, task: String, payload: [UInt8], contentType: String, code: TaskErrorCode)] = [
                    ("h-timeout", "classify-image", json(#"{"schema":"s2m3.task-request/1","inputs":{"text":"hi"},"timeoutMs":9223372036854775807}"#), MediaType.json, .malformedRequest),
                    ("h-long-id", "classify-image", json(#"{"schema":"s2m3.task-request/1","requestId":"\#(String(repeating: "x", count: 4_100))","inputs":{"text":"hi"}}"#), MediaType.json, .malformedRequest),
                    ("h-empty-task", "", AggregatorFixture.jpeg, MediaType.jpeg, .unknownTask),
                    ("h-many", "classify-image", many.encoded(), TensorBundle.contentType, .malformedRequest),
                ]
                for request in sent {
                    try await watcher.publish(MQTTMessage(
                        topic: topics.requests(request.task), payload: request.payload,
                        properties: MQTTProperties(contentType: request.contentType, correlationData: Array(request.id.utf8), responseTopic: reply)))
                }
                let answers = try await within(.seconds(10), "one answer to each of \(sent.count) hostile requests") {
                    var seen: [String: [TaskErrorCode]] = [:]
                    for await message in inbox {
                        let id = String(decoding: message.properties.correlationData ?? [], as: UTF8.self)
                        seen[id, default: []].append(try TaskErrorMessage(json: message.payload).code)
                        if seen.values.reduce(0, { $0 + $1.count }) == sent.count { break }
                    }
                    return seen
                }
                for request in sent { #expect(answers[request.id] == [request.code], "\(request.id): \(answers[request.id] ?? [])") }
                #expect(await service.statistics.errors == sent.count)

                // Still serving: a request whose task the plan cannot serve is answered at once.
                var plan = AggregatorFixture.plan(epoch: 1, [:])
                plan.unavailableTasks = ["transcribe": "no device"]
                try await watcher.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))
                let client = S2M3Client(connection: harness.connection("client"), topics: topics)
                try await client.connect()
                try await within(.seconds(10), "the plan to arrive") {
                    while await service.planEpoch != 1 { try await Task.sleep(for: .milliseconds(20)) }
                }
                do {
                    _ = try await client.request(task: "transcribe", inputs: ["audio": .media(contentType: MediaType.wav, bytes: Self.wav)], timeout: .seconds(5))
                    Issue.record("an unavailable task returned a result")
                } catch let error as S2M3ClientError {
                    #expect(error.taskError?.code == .taskUnavailable, "\(error)")
                }
                await client.close()
                await watcher.disconnect()
            }
        }
    }

    /// A `duplicate-request` for an id the client generated (and so sent once) answers a copy the
    /// broker delivered again: the client keeps waiting for the first copy's answer.
    @Test func theClientWaitsPastADuplicateRequestForItsOwnID() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator()
            try await withService(service) {
                // Devices that never answer: the real answer is the aggregator's deadline-exceeded.
                let spy = harness.connection("spy")
                try await spy.connect()
                let requests = spy.messages
                try await spy.subscribe(topics.requests("classify-image"))
                try await spy.publish(MQTTMessage(
                    topic: topics.plan, payload: try AggregatorFixture.plan(epoch: 1, [:], rest: ["ghost"]).jsonBytes(), retain: true))
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(10))
                try await client.connect()
                let answer = Task {
                    try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .milliseconds(1_500))
                }
                let request = try await within(.seconds(10), "the client's request") {
                    for await message in requests { return message }
                    throw AnswerError("no request seen")
                }
                let id = String(decoding: request.properties.correlationData ?? [], as: UTF8.self)
                let duplicate = TaskErrorMessage(
                    requestID: id, task: "classify-image", code: .duplicateRequest, reason: "request id '\(id)' is still in flight",
                    timestampMs: 1)
                try await spy.publish(MQTTMessage(
                    topic: request.properties.responseTopic ?? "", payload: try duplicate.jsonBytes(),
                    properties: MQTTProperties(contentType: MediaType.json, correlationData: Array(id.utf8))))
                do {
                    _ = try await answer.value
                    Issue.record("a request nobody serves returned a result")
                } catch let error as S2M3ClientError {
                    #expect(error.taskError?.code == .deadlineExceeded, "the first copy's answer, not the duplicate's: \(error)")
                }
                await client.close()
                await spy.disconnect()
            }
        }
    }

    static let wav: [UInt8] = Array("RIFF".utf8) + [36, 0, 0, 0] + Array("WAVEfmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0, 2, 0, 16, 0]
        + Array("data".utf8) + [4, 0, 0, 0, 0, 0, 0, 0]
}
