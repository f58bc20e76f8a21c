import Aggregator
import Foundation
import MQTTBus
import S2M3Core
import Testing
import TestSupport

/// The aggregator's presence on a real Mosquitto: its retained `online` state once serving, and
/// telemetry that counts what it answered.
@Suite("Aggregator presence", .serialized)
struct AggregatorPresenceTests {
    @Test func announcesOnlineAndCountsInItsTelemetry() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator { $0.telemetryInterval = .milliseconds(100) }
            try await withService(service) {
                let watcher = harness.connection("presence-watcher")
                try await watcher.connect()
                let inbox = watcher.messages
                try await watcher.subscribe(topics.aggregatorState("agg-1"))
                let state = try await within(.seconds(10), "the retained state") {
                    for await message in inbox { return try ServiceState(json: message.payload) }
                    throw TimedOut(what: "a state before the connection ended")
                }
                #expect(state.role == .aggregator && state.id == "agg-1" && state.status == .online && state.reason == nil)

                try await watcher.subscribe(topics.aggregatorTelemetry("agg-1"), qos: .atMostOnce)
                for index in 0..<3 {
                    try await watcher.publish(MQTTMessage(topic: topics.requests("classify-image"), payload: [0x00, UInt8(index)]))
                }
                let telemetry = try await within(.seconds(10), "telemetry counting 3 malformed requests") {
                    for await message in inbox where message.topic == topics.aggregatorTelemetry("agg-1") {
                        let telemetry = try AggregatorTelemetry(json: message.payload)
                        if telemetry.requests == 3 && telemetry.errors["malformed-request"] == 3 { return telemetry }
                    }
                    throw TimedOut(what: "telemetry before the connection ended")
                }
                #expect(telemetry.inFlight == 0 && telemetry.results == 0 && telemetry.epoch == nil)
                #expect(telemetry.requestsPerSecond == 0.3, "3 requests over the 10 s rate window")
                await watcher.disconnect()
            }
        }
    }
}
