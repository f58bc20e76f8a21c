import Foundation
import LocalBroker
import Logging
import MQTTBus
import Testing

/// Shared helpers for the MQTTBus integration tests: a real Mosquitto per test (or suite) on a
/// free loopback port, unique client ids and topic roots, and bounded waits on conditions.
enum BusTest {
    /// The package root (two levels above this file's directory).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var brokerConfig: String { packageRoot + "/broker-config" }

    /// Runs `body` with a fresh development broker (broker-config/dev.conf) on a free port.
    static func withDevBroker<T>(_ body: (MosquittoProcess) async throws -> T) async throws -> T {
        try await MosquittoProcess.withRunning(MosquittoProcessConfiguration(template: brokerConfig + "/dev.conf"), body)
    }

    /// The `s2m3` executable built next to the test bundle (or `$S2M3_EXECUTABLE`).
    static var s2m3Executable: String {
        get throws {
            if let given = ProcessInfo.processInfo.environment["S2M3_EXECUTABLE"] { return given }
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("s2m3").path
            guard FileManager.default.isExecutableFile(atPath: candidate) else {
                throw TimedOut(what: "the s2m3 executable at \(candidate); run `swift build` first")
            }
            return candidate
        }
    }

    /// A string unique to this test run, for client ids and topic roots.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static let logger: Logger = {
        var logger = Logger(label: "MQTTBusTests", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = .error
        return logger
    }()

    static func configuration(_ broker: MosquittoProcess, id: String) -> MQTTConfiguration {
        MQTTConfiguration(endpoints: [MQTTEndpoint(host: broker.host, port: broker.port)], clientID: unique(id))
    }

    static func connect(_ configuration: MQTTConfiguration) async throws -> MQTTConnection {
        let connection = MQTTConnection(configuration: configuration, logger: logger)
        try await connection.connect()
        return connection
    }

    static func connect(_ broker: MosquittoProcess, id: String) async throws -> MQTTConnection {
        try await connect(configuration(broker, id: id))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with ``TimedOut`` after `limit`.
func within<T: Sendable>(
    _ limit: Duration,
    _ what: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
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
