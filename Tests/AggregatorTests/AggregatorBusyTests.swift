import Aggregator
import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import Synchronization
import Testing
import TestSupport

/// Issue 10, item 5: a device answering `busy` is not sent the request's tensors again every 25 ms
/// until the deadline. Against a real Mosquitto and a real ``AggregatorService``, with a test
/// connection playing the one device the plan puts every module on, answering `busy` to everything.
@Suite("Aggregator: busy devices", .serialized)
struct AggregatorBusyTests {
    @Test func aBusyDeviceGetsABoundedNumberOfResendsThenTheRequestIsOverloaded() async throws {
        let retries = 3
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator { $0.maxBusyRetries = retries }
            try await withService(service) {
                let device = harness.connection("box-1")
                try await device.connect()
                let invocations = device.messages
                try await device.subscribe(topics.moduleInvoke(module: "+", device: "box-1"))
                let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-1"])
                try await device.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))
                let received = Mutex<[String: Int]>([:])
                let answering = Task {
                    for await message in invocations {
                        guard let invoke = try? InvokeRequest(bundle: TensorBundle(decoding: message.payload)) else { continue }
                        received.withLock { $0[invoke.requestID, default: 0] += 1 }
                        let now = Int(Date().timeIntervalSince1970 * 1000)
                        let partial = PartialResult(
                            answering: invoke, device: "box-1", status: .busy, error: nil,
                            queueWaitMs: 0, computeMs: 0, receivedAtMs: now, startedAtMs: nil, finishedAtMs: now)
                        try? await device.publish(MQTTMessage(
                            topic: topics.aggregatorPartials(invoke.replyTo, device: "box-1"), payload: try partial.bundle().encoded()))
                    }
                }
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(5))
                try await client.connect()
                let start = ContinuousClock.now
                var answer: TaskErrorMessage?
                do {
                    _ = try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .seconds(20))
                } catch let error as S2M3ClientError {
                    answer = error.taskError
                }
                let took = ContinuousClock.now - start
                try await Task.sleep(for: .milliseconds(300))  // a late resend would arrive by now
                answering.cancel()
                await client.close()
                await device.disconnect()
                let error = try #require(answer)
                #expect(error.code == .overloaded, "\(error)")
                #expect((error.retryAfterMs ?? 0) >= 10, "\(error)")
                #expect(took < .seconds(5), "answered after \(took), not at the 20 s deadline")
                let counts = received.withLock { $0 }
                #expect(counts.count == 1)
                #expect(counts.values.allSatisfy { $0 == retries + 1 }, "invocations per request: \(counts)")
                #expect(await service.statistics.busyAnswers == retries + 1)
                #expect(await service.statistics.rejected[.busyReplicas] == 1)
            }
        }
    }
}
