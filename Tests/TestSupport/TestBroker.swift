import Foundation
import LocalBroker
import Logging
import MQTTBus

/// A real Mosquitto for integration tests (broker-config/dev.conf on a free loopback port), unique
/// client ids and topic roots, and connections to it.
public enum TestBroker {
    /// Runs `body` with a fresh development broker; `extraLines` are added to its configuration.
    public static func withDev<T>(extraLines: [String] = [], _ body: (MosquittoProcess) async throws -> T) async throws -> T {
        var configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf"))
        configuration.extraLines = extraLines
        return try await MosquittoProcess.withRunning(configuration, body)
    }

    /// `prefix` made unique to this test run (process id and a random part), for client ids and topic roots.
    public static func unique(_ prefix: String) -> String {
        "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A test target's logger: errors only, on standard error.
    public static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .error
        return logger
    }

    /// A connection (not yet connected) to `broker` with a unique client id starting with `id`.
    public static func connection(_ broker: MosquittoProcess, id: String, logger: Logger) -> MQTTConnection {
        MQTTConnection(configuration: configuration(broker, id: id), logger: logger)
    }

    /// The configuration of such a connection.
    public static func configuration(_ broker: MosquittoProcess, id: String) -> MQTTConfiguration {
        MQTTConfiguration(endpoints: [MQTTEndpoint(host: broker.host, port: broker.port)], clientID: unique(id))
    }
}
