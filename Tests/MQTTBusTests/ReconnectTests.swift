import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

@Suite("MQTT reconnect")
struct ReconnectTests {
    /// The broker restarts (SIGTERM saves sessions). The client notices, reconnects by itself,
    /// gets the QoS 1 message published to its persistent session while it was away, and its
    /// subscription works again.
    @Test func reconnectsAfterBrokerRestart() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("restart")
            var configuration = TestBroker.configuration(broker, id: "restart-sub")
            configuration.cleanStart = false
            configuration.sessionExpiry = 300
            // Long enough that the publish below happens while the client is still away.
            configuration.reconnectDelay = .milliseconds(1500)
            let subscriber = try await BusTest.connect(configuration)
            try await subscriber.subscribe("\(root)/#")

            try await broker.restart()
            _ = try await subscriber.waitForEvent("connection lost") {
                if case .connectionLost = $0 { return true } else { return false }
            }
            #expect(!subscriber.isConnected)

            let publisher = try await BusTest.connect(broker, id: "restart-pub")
            try await publisher.publish(MQTTMessage(topic: "\(root)/away", string: "while away"))
            let publishedAt = ContinuousClock.now

            let event = try await subscriber.waitForEvent("reconnected") {
                if case .reconnected = $0 { return true } else { return false }
            }
            let reconnectedAt = ContinuousClock.now
            #expect(event == .reconnected(MQTTEndpoint(host: broker.host, port: broker.port), sessionPresent: true))
            #expect(publishedAt < reconnectedAt)

            let away = try #require(try await subscriber.receive(1).first)
            #expect(away.payloadString == "while away")
            try await publisher.publish(MQTTMessage(topic: "\(root)/after", string: "after"))
            let after = try #require(try await subscriber.receive(1).first)
            #expect(after.payloadString == "after")
            await publisher.disconnect()
            await subscriber.disconnect()
        }
    }

    /// With a clean session the broker forgets the subscription; the client restores it.
    @Test func restoresSubscriptionsOnCleanReconnect() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("restore")
            let subscriber = try await BusTest.connect(broker, id: "restore-sub")
            try await subscriber.subscribe("\(root)/#")
            await broker.kill()  // no session is saved
            try await broker.restart()
            let event = try await subscriber.waitForEvent("reconnected") {
                if case .reconnected = $0 { return true } else { return false }
            }
            #expect(event == .reconnected(MQTTEndpoint(host: broker.host, port: broker.port), sessionPresent: false))
            let publisher = try await BusTest.connect(broker, id: "restore-pub")
            // The restored SUBSCRIBE may still be in flight: publish until one arrives.
            let first = try await within(.seconds(5), "a message on the restored subscription") {
                try await withThrowingTaskGroup(of: MQTTMessage?.self) { group in
                    group.addTask { try await subscriber.receive(1, within: .seconds(5)).first }
                    group.addTask {
                        while !Task.isCancelled {
                            try await publisher.publish(MQTTMessage(topic: "\(root)/x", string: "x"))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next() ?? nil
                }
            }
            #expect(first?.topic == "\(root)/x")
            await publisher.disconnect()
            await subscriber.disconnect()
        }
    }

    /// A QoS 1 publish made while the broker is down waits through the reconnect and completes
    /// with the broker's acknowledgement; the message is delivered.
    @Test func qos1PublishWaitsThroughReconnect() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("queued")
            var subscriberConfiguration = TestBroker.configuration(broker, id: "queued-sub")
            subscriberConfiguration.cleanStart = false
            subscriberConfiguration.sessionExpiry = 300
            let subscriber = try await BusTest.connect(subscriberConfiguration)
            try await subscriber.subscribe("\(root)/#")
            var publisherConfiguration = TestBroker.configuration(broker, id: "queued-pub")
            publisherConfiguration.reconnectDelay = .milliseconds(1500)
            let publisher = try await BusTest.connect(publisherConfiguration)

            await broker.terminate()
            _ = try await publisher.waitForEvent("connection lost") {
                if case .connectionLost = $0 { return true } else { return false }
            }
            let publishing = Task {
                let wasConnected = publisher.isConnected
                try await publisher.publish(MQTTMessage(topic: "\(root)/queued", string: "queued"))
                return wasConnected
            }
            try await broker.restart()
            #expect(try await within(.seconds(10), "the queued publish") { try await publishing.value } == false)
            let message = try #require(try await subscriber.receive(1).first)
            #expect(message.payloadString == "queued")
            await publisher.disconnect()
            await subscriber.disconnect()
        }
    }

    /// A subscribe made while the connection is down completes once the reconnect restored it.
    @Test func subscribeWhileDisconnectedCompletesAfterReconnect() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("late-sub")
            var configuration = TestBroker.configuration(broker, id: "late-sub")
            configuration.reconnectDelay = .milliseconds(1500)
            let subscriber = try await BusTest.connect(configuration)
            await broker.terminate()
            _ = try await subscriber.waitForEvent("connection lost") {
                if case .connectionLost = $0 { return true } else { return false }
            }
            let subscribing = Task {
                let wasConnected = subscriber.isConnected
                try await subscriber.subscribe("\(root)/#")
                return wasConnected
            }
            try await broker.restart()
            #expect(try await within(.seconds(10), "the late subscribe") { try await subscribing.value } == false)
            let publisher = try await BusTest.connect(broker, id: "late-sub-pub")
            try await publisher.publish(MQTTMessage(topic: "\(root)/x", string: "x"))
            let message = try #require(try await subscriber.receive(1).first)
            #expect(message.topic == "\(root)/x")
            await publisher.disconnect()
            await subscriber.disconnect()
        }
    }
}
