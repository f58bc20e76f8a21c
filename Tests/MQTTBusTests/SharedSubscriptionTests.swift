import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

@Suite("MQTT shared subscriptions")
struct SharedSubscriptionTests {
    /// Two subscribers in one `$share` group split 100 QoS 1 messages: each gets some, together
    /// they get every message exactly once.
    @Test func twoSubscribersSplitHundredMessages() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("share")
            let filter = "$share/group-\(root)/\(root)/jobs"
            let first = try await BusTest.connect(broker, id: "share-a")
            let second = try await BusTest.connect(broker, id: "share-b")
            try await first.subscribe(filter)
            try await second.subscribe(filter)

            let received = Collector()
            let collectors = [first, second].enumerated().map { index, connection in
                Task {
                    for await message in connection.messages {
                        received.add(Int(message.payloadString) ?? -1, by: index)
                    }
                }
            }
            let publisher = try await BusTest.connect(broker, id: "share-pub")
            for i in 0..<100 {
                try await publisher.publish(MQTTMessage(topic: "\(root)/jobs", string: "\(i)"))
            }
            try await within(.seconds(10), "100 shared messages") {
                while received.total < 100 { try await Task.sleep(for: .milliseconds(5)) }
            }
            await publisher.disconnect()
            // Disconnecting ends each stream after its buffered messages: late duplicates would count.
            await first.disconnect()
            await second.disconnect()
            for collector in collectors { await collector.value }

            let (all, perSubscriber) = received.snapshot
            #expect(all.count == 100)
            #expect(Set(all) == Set(0..<100))
            #expect(perSubscriber[0, default: 0] > 0)
            #expect(perSubscriber[1, default: 0] > 0)
        }
    }
}

/// Thread-safe tally of received message numbers.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    private var counts: [Int: Int] = [:]

    func add(_ value: Int, by subscriber: Int) {
        lock.withLock {
            values.append(value)
            counts[subscriber, default: 0] += 1
        }
    }

    var total: Int { lock.withLock { values.count } }
    var snapshot: ([Int], [Int: Int]) { lock.withLock { (values, counts) } }
}
