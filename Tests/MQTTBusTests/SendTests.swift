import Foundation
import LocalBroker
import MQTTBus
import Synchronization
import TestSupport
import Testing

/// `MQTTConnection.send(_:acknowledged:)`, which hands a message over without waiting for the
/// broker, and `publish(_:)` of several messages, built on it.
@Suite("MQTT send without waiting")
struct SendTests {
    /// Acknowledgements by message index: how many times each was acknowledged, and any failure.
    final class Acknowledgements: Sendable {
        let state = Mutex<(counts: [Int: Int], failures: [MQTTError])>(([:], []))
        func record(_ index: Int, _ error: MQTTError?) {
            state.withLock { s in
                s.counts[index, default: 0] += 1
                if let error { s.failures.append(error) }
            }
        }
        var snapshot: (counts: [Int: Int], failures: [MQTTError]) { state.withLock { $0 } }
    }

    /// 300 QoS 1 messages sent back to back arrive in the order sent, and each is acknowledged
    /// exactly once, without failure; a QoS 0 one is acknowledged before `send` returns.
    @Test func sentMessagesArriveInOrderAndEachIsAcknowledgedOnce() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("send")
            let subscriber = try await BusTest.connect(broker, id: "send-sub")
            let publisher = try await BusTest.connect(broker, id: "send-pub")
            try await subscriber.subscribe("\(root)/#", qos: .atLeastOnce)
            let acknowledgements = Acknowledgements()
            let count = 300
            for index in 0..<count {
                try publisher.send(MQTTMessage(topic: "\(root)/a", string: "\(index)", qos: .atLeastOnce)) { acknowledgements.record(index, $0) }
            }
            let received = try await subscriber.receive(count, within: .seconds(20))
            #expect(received.map(\.payloadString) == (0..<count).map { "\($0)" })
            try await within(.seconds(10), "every acknowledgement") {
                while acknowledgements.snapshot.counts.count < count { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let (counts, failures) = acknowledgements.snapshot
            #expect(counts.count == count && counts.values.allSatisfy { $0 == 1 })
            #expect(failures.isEmpty)

            let quick = Acknowledgements()
            try publisher.send(MQTTMessage(topic: "\(root)/b", string: "q0", qos: .atMostOnce)) { quick.record(0, $0) }
            #expect(quick.snapshot.counts == [0: 1])
            await publisher.disconnect()
            await subscriber.disconnect()
        }
    }

    /// A refused message among several: `send` reports the refusal to its own acknowledgement,
    /// `publish` of the three throws it, and the allowed ones still arrive.
    @Test func aRefusalReachesItsAcknowledgementAndThePublishOfSeveral() async throws {
        try await SecureBroker.with { secure in
            let task = TestBroker.unique("send-acl")
            let client = try await secure.connect("client")
            let acknowledgements = Acknowledgements()
            try client.send(MQTTMessage(topic: "s2m3/v1/results/\(task)", string: "{}")) { acknowledgements.record(0, $0) }
            try await within(.seconds(10), "the refusal") {
                while acknowledgements.snapshot.counts.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            }
            let refusal = try #require(acknowledgements.snapshot.failures.first)
            #expect(refusal.code == .publishRefused && refusal.reasonCode == 0x87)

            let error = try await #require(throws: MQTTError.self) {
                try await client.publish([
                    MQTTMessage(topic: "s2m3/v1/requests/\(task)", string: "{}"), MQTTMessage(topic: "s2m3/v1/results/\(task)", string: "{}"),
                    MQTTMessage(topic: "s2m3/v1/requests/\(task)", string: "{}"),
                ])
            }
            #expect(error.code == .publishRefused)
            try await client.publish([])  // nothing to wait for
            await client.disconnect()
        }
    }

    /// After `disconnect()`, `send` throws `closed` and never calls the acknowledgement.
    @Test func sendOnAClosedConnectionThrowsWithoutAcknowledging() async throws {
        try await TestBroker.withDev { broker in
            let connection = try await BusTest.connect(broker, id: "send-closed")
            await connection.disconnect()
            let acknowledgements = Acknowledgements()
            let error = try #require(throws: MQTTError.self) {
                try connection.send(MQTTMessage(topic: "t/closed", string: "x", qos: .atLeastOnce)) { acknowledgements.record(0, $0) }
            }
            #expect(error.code == .closed)
            #expect(acknowledgements.snapshot.counts.isEmpty)
        }
    }
}
