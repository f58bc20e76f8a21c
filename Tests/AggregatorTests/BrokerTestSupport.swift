import Aggregator
import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Core
import Testing
import TestSupport

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

func within<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A real Mosquitto from broker-config/dev.conf and helpers to connect to it.
struct BrokerHarness: Sendable {
    let endpoint: MQTTEndpoint
    let topics: Topics

    static let logger: Logger = {
        var logger = Logger(label: "AggregatorTests", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .error
        return logger
    }()

    static func withBroker<T>(_ body: (BrokerHarness) async throws -> T) async throws -> T {
        let configuration = MosquittoProcessConfiguration(template: TestPaths.repository.appendingPathComponent("broker-config/dev.conf").path)
        return try await MosquittoProcess.withRunning(configuration) { broker in
            let harness = BrokerHarness(
                endpoint: MQTTEndpoint(host: broker.host, port: broker.port),
                topics: Topics(root: "agg-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/v1"))
            return try await body(harness)
        }
    }

    func connection(_ id: String) -> MQTTConnection {
        MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "\(id)-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"),
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
