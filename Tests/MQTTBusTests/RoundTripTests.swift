import Foundation
import LocalBroker
import MQTTBus
import Testing

@Suite("MQTT round trip")
struct RoundTripTests {
    /// Every property survives publish → broker → subscriber, at QoS 0, 1 and 2.
    @Test(arguments: MQTTQoS.allCases)
    func everyPropertyRoundTrips(qos: MQTTQoS) async throws {
        let broker = try await BusTest.startDevBroker()
        let root = BusTest.unique("rt")
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
        await broker.stop()
    }
}
