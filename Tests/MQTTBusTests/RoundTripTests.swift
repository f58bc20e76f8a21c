import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

@Suite("MQTT round trip")
struct RoundTripTests {
    /// Every property survives publish → broker → subscriber, at QoS 0, 1 and 2.
    @Test(arguments: MQTTQoS.allCases)
    func everyPropertyRoundTrips(qos: MQTTQoS) async throws {
        try await TestBroker.withDev { broker in try await roundTrip(broker, qos: qos) }
    }

    private func roundTrip(_ broker: MosquittoProcess, qos: MQTTQoS) async throws {
        let root = TestBroker.unique("rt")
        let subscriber = try await BusTest.connect(broker, id: "rt-sub")
        let publisher = try await BusTest.connect(broker, id: "rt-pub")
        try await subscriber.subscribe("\(root)/#", qos: .exactlyOnce)

        let properties = MQTTProperties(
            contentType: "application/json",
            userProperties: [MQTTUserProperty("traceparent", "00-abc-def-01"), MQTTUserProperty("k", "1"), MQTTUserProperty("k", "2")],
            correlationData: [0, 1, 2, 255, 128],
            responseTopic: "\(root)/reply",
            messageExpiry: 60,
            payloadFormatIndicatorUTF8: true
        )
        let sent = MQTTMessage(topic: "\(root)/a", string: #"{"x":1}"#, qos: qos, properties: properties)
        try await publisher.publish(sent)

        let received = try #require(try await subscriber.receive(1).first)
        #expect(received.topic == sent.topic)
        #expect(received.payload == sent.payload)
        #expect(received.qos == qos)
        #expect(received.retain == false)
        #expect(received.properties.contentType == "application/json")
        #expect(received.properties.userProperties == properties.userProperties)
        #expect(received.properties.correlationData == properties.correlationData)
        #expect(received.properties.responseTopic == properties.responseTopic)
        #expect(received.properties.payloadFormatIndicatorUTF8)
        let expiry = try #require(received.properties.messageExpiry)
        #expect((58...60).contains(expiry))

        await publisher.disconnect()
        await subscriber.disconnect()
    }

    /// A message whose 1 s expiry passes while its persistent-session subscriber is offline is
    /// dropped; a later message in the same queue is still delivered.
    @Test func expiredMessageIsNotDeliveredToOfflineSession() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("expiry")
            var sessionConfiguration = TestBroker.configuration(broker, id: "expiry-sub")
            sessionConfiguration.cleanStart = false
            sessionConfiguration.sessionExpiry = 300
            let subscriber = try await BusTest.connect(sessionConfiguration)
            try await subscriber.subscribe("\(root)/#", qos: .atLeastOnce)
            await subscriber.disconnect()

            let publisher = try await BusTest.connect(broker, id: "expiry-pub")
            try await publisher.publish(MQTTMessage(topic: "\(root)/short", string: "short", properties: MQTTProperties(messageExpiry: 1)))
            try await publisher.publish(MQTTMessage(topic: "\(root)/long", string: "long", properties: MQTTProperties(messageExpiry: 60)))
            try await Task.sleep(for: .seconds(2))  // this test is about time: let the 1 s expiry pass

            let back = try await BusTest.connect(sessionConfiguration)
            // Queued messages arrive in publish order: "short" would come first if it were kept.
            let first = try #require(try await back.receive(1).first)
            #expect(first.payloadString == "long")
            #expect(first.topic == "\(root)/long")
            let remaining = try #require(first.properties.messageExpiry)
            #expect(remaining <= 58)
            try await publisher.publish(MQTTMessage(topic: "\(root)/marker", string: "marker"))
            let next = try #require(try await back.receive(1).first)
            #expect(next.payloadString == "marker")
            await back.disconnect()
            await publisher.disconnect()
        }
    }
}
