import Aggregator
import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import Testing
import TestSupport

/// The ticker parks while nothing waits on the clock, and the first request wakes it: an idle
/// aggregator costs next to no CPU, and deadlines are still kept to the tick.
@Suite("Aggregator ticker")
struct AggregatorTickerTests {
    @Test("an idle aggregator barely ticks; a request wakes the ticker and its deadline is kept", .timeLimit(.minutes(2)))
    func idleTickerParksAndWakes() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            // Parked for up to 5 s: a deadline kept within a second proves the request woke it.
            let service = try harness.aggregator { $0.idleTickInterval = .seconds(5) }
            try await withService(service) {
                let publisher = harness.connection("plan")
                try await publisher.connect()
                try await publisher.publish(MQTTMessage(
                    topic: topics.plan, payload: try AggregatorFixture.plan(epoch: 1, [:], rest: ["ghost"]).jsonBytes(), retain: true))
                let before = await service.ticks
                try await Task.sleep(for: .milliseconds(1_500))
                let idleTicks = await service.ticks - before
                #expect(idleTicks <= 2, "\(idleTicks) ticks in 1.5 s idle (every 10 ms would be 150)")

                // The ghost device never answers: the answer is the aggregator's deadline-exceeded.
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(10))
                try await client.connect()
                let start = ContinuousClock.now
                let beforeRequest = await service.ticks
                do {
                    _ = try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .milliseconds(300))
                    Issue.record("a request nobody serves returned a result")
                } catch let error as S2M3ClientError {
                    #expect(error.taskError?.code == .deadlineExceeded, "\(error)")
                }
                let elapsed = ContinuousClock.now - start
                let busyTicks = await service.ticks - beforeRequest
                #expect(elapsed < .seconds(2), "deadline-exceeded after \(elapsed) for a 300 ms deadline")
                #expect(busyTicks >= 10, "\(busyTicks) ticks while a request was in flight for \(elapsed)")
                await client.close()
                await publisher.disconnect()
            }
        }
    }
}
