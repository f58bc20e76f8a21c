import Foundation
import LocalBroker
import Logging
import MQTTBus
import TestSupport
import Testing

/// Connecting to a test broker (``TestBroker``) for the MQTTBus integration tests, and bounded
/// waits on a connection's messages and events.
enum BusTest {
    static let logger = TestBroker.logger("MQTTBusTests")

    static func connect(_ configuration: MQTTConfiguration) async throws -> MQTTConnection {
        let connection = MQTTConnection(configuration: configuration, logger: logger)
        try await connection.connect()
        return connection
    }

    static func connect(_ broker: MosquittoProcess, id: String) async throws -> MQTTConnection {
        try await connect(TestBroker.configuration(broker, id: id))
    }
}

extension MQTTConnection {
    /// The next `count` inbound messages, failing after `limit`.
    func receive(_ count: Int, within limit: Duration = .seconds(5)) async throws -> [MQTTMessage] {
        let stream = messages
        return try await within(limit, "\(count) message(s)") {
            var received: [MQTTMessage] = []
            for await message in stream {
                received.append(message)
                if received.count == count { break }
            }
            return received
        }
    }

    /// Waits for the first event matching `predicate`.
    func waitForEvent(within limit: Duration = .seconds(10), _ what: String, _ predicate: @escaping @Sendable (MQTTConnectionEvent) -> Bool) async throws -> MQTTConnectionEvent {
        let stream = events
        return try await within(limit, what) {
            for await event in stream where predicate(event) { return event }
            throw TimedOut(what: "\(what) (event stream ended)")
        }
    }
}
