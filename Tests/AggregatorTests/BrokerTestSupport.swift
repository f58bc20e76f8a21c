import Aggregator
import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Core
import Testing
import TestSupport

/// A real Mosquitto from broker-config/dev.conf and helpers to connect to it.
struct BrokerHarness: Sendable {
    let endpoint: MQTTEndpoint
    let topics: Topics

    static let logger = TestBroker.logger("AggregatorTests")

    static func withBroker<T>(_ body: (BrokerHarness) async throws -> T) async throws -> T {
        try await TestBroker.withDev { broker in
            try await body(BrokerHarness(
                endpoint: MQTTEndpoint(host: broker.host, port: broker.port),
                topics: Topics(root: TestBroker.unique("agg-test") + "/v1")))
        }
    }

    func connection(_ id: String) -> MQTTConnection {
        MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: TestBroker.unique(id)),
            logger: Self.logger)
    }

    /// An aggregator service on this broker (not yet running).
    func aggregator(id: String = "agg-1", configure: (inout AggregatorConfiguration) -> Void = { _ in }) throws -> AggregatorService {
        var configuration = AggregatorConfiguration(id: id, topics: topics)
        configuration.group = "g-\(UInt32.random(in: 0...UInt32.max))"
        configure(&configuration)
        return try AggregatorService(
            connection: connection(id), catalog: AggregatorFixture.catalog, configuration: configuration, logger: Self.logger)
    }
}

/// Runs `service` in a child task until `body` returns; waits until it has subscribed.
func withService<T: Sendable>(_ service: AggregatorService, _ body: () async throws -> T) async throws -> T {
    let (ready, signal) = AsyncStream.makeStream(of: Void.self)
    let task = Task { try await service.run { signal.yield() } }
    defer { task.cancel() }
    for await _ in ready { break }
    return try await body()
}
