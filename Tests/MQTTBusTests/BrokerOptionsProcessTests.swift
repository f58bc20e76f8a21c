import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

/// The connection options of the `s2m3` commands, as a user gives them: `s2m3 request` as a real
/// process against a real secure broker (broker-config/secure.conf, fresh credentials). No
/// aggregator runs, so a request that got through the login ends in the client's timeout ("no
/// answer"), and one that did not ends in the connection's error.
@Suite("s2m3 broker options", .serialized)
struct BrokerOptionsProcessTests {
    static let catalog = TestPaths.repository.appendingPathComponent("catalog/default.json").path
    static let loggedIn = "no answer to request"

    /// A JPEG for `--image` (the request never reaches a model).
    static func photo() throws -> String {
        let path = NSTemporaryDirectory() + "s2m3-options-photo-\(getpid()).jpg"
        if !FileManager.default.fileExists(atPath: path) {
            try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9])
                .write(to: URL(fileURLWithPath: path))
        }
        return path
    }

    static func request(_ broker: MosquittoProcess, _ options: [String], environment: [String: String] = [:]) async throws -> S2M3Run.Outcome {
        let cache = try S2M3Run.privateCache()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        var env = ["S2M3_CACHE": cache, "S2M3_MQTT_PASSWORD": "", "S2M3_MQTT_USERNAME": ""]
        env.merge(environment) { $1 }
        return try await S2M3Run.run(
            ["request", "classify-image", "--image", try photo(), "--catalog", catalog, "--timeout-ms", "200",
             "--broker", "127.0.0.1:\(broker.port)"] + options,
            environment: env)
    }

    @Test func passwordFromFileLogsIn() async throws {
        try await SecureBroker.with { secure in
            let outcome = try await Self.request(secure.broker, [
                "--tls-ca", secure.secrets + "/ca.crt", "--username", "client", "--password-file", secure.secrets + "/client.password",
            ])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains(Self.loggedIn), "\(outcome.output)")
        }
    }

    @Test func passwordAndUserFromTheEnvironmentLogIn() async throws {
        try await SecureBroker.with { secure in
            let outcome = try await Self.request(
                secure.broker, ["--tls-ca", secure.secrets + "/ca.crt"],
                environment: ["S2M3_MQTT_USERNAME": "client", "S2M3_MQTT_PASSWORD": try #require(secure.passwords["client"])])
            #expect(outcome.output.contains(Self.loggedIn), "\(outcome.output)")
        }
    }

    @Test func wrongPasswordIsRefusedNamingTheUser() async throws {
        try await SecureBroker.with { secure in
            let wrong = secure.secrets + "/wrong.password"
            try "not-the-password\n".write(toFile: wrong, atomically: true, encoding: .utf8)
            let outcome = try await Self.request(secure.broker, [
                "--tls-ca", secure.secrets + "/ca.crt", "--username", "client", "--password-file", wrong,
            ])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("connectionRefused"), "\(outcome.output)")
            #expect(outcome.output.contains("refused user 'client'"), "\(outcome.output)")
            #expect(outcome.output.contains("0x87") || outcome.output.contains("0x86"), "\(outcome.output)")
            #expect(!outcome.output.contains(Self.loggedIn))
        }
    }

    @Test func missingCAFileIsNamed() async throws {
        try await SecureBroker.with { secure in
            let missing = secure.secrets + "/no-such-ca.crt"
            let outcome = try await Self.request(secure.broker, [
                "--tls-ca", missing, "--username", "client", "--password-file", secure.secrets + "/client.password",
            ])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("the TLS CA file '\(missing)' does not exist"), "\(outcome.output)")
        }
    }

    @Test func missingPasswordFileIsNamed() async throws {
        try await SecureBroker.with { secure in
            let missing = secure.secrets + "/no-such.password"
            let outcome = try await Self.request(secure.broker, [
                "--tls-ca", secure.secrets + "/ca.crt", "--username", "client", "--password-file", missing,
            ])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("the password file '\(missing)' does not exist"), "\(outcome.output)")
        }
    }

    /// The symptom: a plain connection to the TLS listener. The error now says to give
    /// --tls-ca.
    @Test func plainConnectionToTheTLSListenerSuggestsTLS() async throws {
        try await SecureBroker.with { secure in
            let outcome = try await Self.request(secure.broker, [])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("--tls-ca"), "\(outcome.output)")
        }
    }

    /// A wrong --tls-server-name fails the handshake; the right one (the certificate names
    /// localhost) logs in although the connection goes to 127.0.0.1.
    @Test func tlsServerName() async throws {
        try await SecureBroker.with { secure in
            let login = ["--tls-ca", secure.secrets + "/ca.crt", "--username", "client", "--password-file", secure.secrets + "/client.password"]
            let good = try await Self.request(secure.broker, login + ["--tls-server-name", "localhost"])
            #expect(good.output.contains(Self.loggedIn), "\(good.output)")
            let bad = try await Self.request(secure.broker, login + ["--tls-server-name", "broker.invalid"])
            #expect(bad.output.contains("tlsFailure"), "\(bad.output)")
            #expect(bad.output.contains("'broker.invalid'"), "\(bad.output)")
        }
    }
}
