import Aggregator
import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import Testing
import TestSupport

/// The aggregator takes a partial's device from its topic, `aggregators/{id}/partials/{device}`
/// (on the secure broker only that device may write it), not from the payload: a partial whose
/// payload names another device than its topic is dropped. Against a real Mosquitto, with a test
/// connection playing the device the plan puts every module on.
@Suite("Aggregator: partials' sender", .serialized)
struct AggregatorSenderTests {
    /// Sends one classify-image request; the stand-in device answers its first invocation with an
    /// error partial naming `box-1`, published on the partials topic of `topicDevice`. Returns the
    /// error the client gets.
    static func answer(fromTopicOf topicDevice: String) async throws -> TaskErrorMessage? {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator()
            return try await withService(service) {
                let device = harness.connection("box-1")
                try await device.connect()
                let invocations = device.messages
                try await device.subscribe(topics.moduleInvoke(module: "+", device: "box-1"))
                let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-1"])
                try await device.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))
                let answering = Task {
                    for await message in invocations {
                        let invoke = try InvokeRequest(bundle: TensorBundle(decoding: message.payload))
                        let now = Int(Date().timeIntervalSince1970 * 1000)
                        let partial = PartialResult(
                            answering: invoke, device: "box-1", status: .error, error: "bad-input: forged by the test",
                            queueWaitMs: 0, computeMs: 0, receivedAtMs: now, startedAtMs: nil, finishedAtMs: now)
                        try await device.publish(MQTTMessage(
                            topic: topics.aggregatorPartials(invoke.replyTo, device: topicDevice), payload: try partial.bundle().encoded()))
                        return
                    }
                }
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(5))
                try await client.connect()
                var answer: TaskErrorMessage?
                do {
                    _ = try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .milliseconds(1500))
                } catch let error as S2M3ClientError {
                    answer = error.taskError
                }
                answering.cancel()
                await client.close()
                await device.disconnect()
                return answer
            }
        }
    }

    @Test func aPartialOnItsOwnDevicesTopicCounts() async throws {
        let error = try #require(try await Self.answer(fromTopicOf: "box-1"))
        #expect(error.code == .badInput && error.reason.contains("forged by the test"), "\(error)")
    }

    @Test func aPartialNamingAnotherDeviceThanItsTopicIsDropped() async throws {
        let error = try #require(try await Self.answer(fromTopicOf: "box-2"))
        #expect(error.code == .deadlineExceeded, "the aggregator took box-2's partial naming box-1: \(error)")
    }
}
