import Foundation
import MQTTBus
import Testing

/// ``MQTTBrokerConfiguration``'s resolving initializer: files checked and named, the password from
/// a file or the environment, never from an argument.
@Suite("MQTT broker configuration")
struct BrokerConfigurationTests {
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "s2m3-broker-configuration-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: folder + "/ca.crt", atomically: true, encoding: .utf8)
    }

    private func file(_ name: String, _ text: String) throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let endpoints = [MQTTEndpoint(host: "127.0.0.1", port: 8883)]

    @Test func passwordFromFileIsItsFirstLineAndWinsOverTheEnvironment() throws {
        let passwordFile = try file("pw", "s3cret\r\nignored second line\n")
        let configuration = try MQTTBrokerConfiguration(
            endpoints: endpoints, tlsCA: folder + "/ca.crt", username: "client", passwordFile: passwordFile,
            environment: [MQTTBrokerConfiguration.passwordVariable: "from-env"])
        #expect(configuration.password == "s3cret")
        #expect(configuration.username == "client")
        #expect(configuration.tls?.caFile == folder + "/ca.crt")
        let connection = configuration.configuration(clientID: "c1")
        #expect(connection.password == "s3cret" && connection.username == "client" && connection.tls != nil)
        #expect(!configuration.description.contains("s3cret"))
        #expect(configuration.description == "mqtts://127.0.0.1:8883 as 'client'")
    }

    @Test func passwordAndUserNameFromTheEnvironment() throws {
        let configuration = try MQTTBrokerConfiguration(
            endpoints: endpoints,
            environment: [MQTTBrokerConfiguration.passwordVariable: "from-env", MQTTBrokerConfiguration.usernameVariable: "device"])
        #expect(configuration.password == "from-env")
        #expect(configuration.username == "device")
        #expect(configuration.tls == nil)
        // A user name given explicitly wins over the environment's.
        let explicit = try MQTTBrokerConfiguration(
            endpoints: endpoints, username: "planner",
            environment: [MQTTBrokerConfiguration.passwordVariable: "p", MQTTBrokerConfiguration.usernameVariable: "device"])
        #expect(explicit.username == "planner")
    }

    @Test func noCredentialsAtAll() throws {
        let configuration = try MQTTBrokerConfiguration(endpoints: endpoints, environment: [:])
        #expect(configuration.username == nil && configuration.password == nil && configuration.tls == nil)
    }

    @Test func missingFilesAreNamed() throws {
        let missingCA = folder + "/no-such-ca.crt"
        let caError = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, tlsCA: missingCA, environment: [:])
        }
        #expect(caError.code == .invalidArgument)
        #expect(caError.message.contains(missingCA) && caError.message.contains("CA file"))

        let missingPassword = folder + "/no-such-password"
        let passwordError = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, username: "client", passwordFile: missingPassword, environment: [:])
        }
        #expect(passwordError.message.contains(missingPassword) && passwordError.message.contains("password file"))

        let empty = try file("empty", "\n")
        let emptyError = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, username: "client", passwordFile: empty, environment: [:])
        }
        #expect(emptyError.message.contains("empty"))

        let folderError = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, tlsCA: folder, environment: [:])
        }
        #expect(folderError.message.contains("folder"))
    }

    @Test func inconsistentSettingsAreRefused() throws {
        // A password without a user name.
        let noUser = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, environment: [MQTTBrokerConfiguration.passwordVariable: "p"])
        }
        #expect(noUser.message.contains("no user name"))
        // A client certificate without its key, and TLS options without a CA.
        let cert = try file("client.crt", "x")
        let noKey = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, tlsCA: folder + "/ca.crt", tlsCert: cert, environment: [:])
        }
        #expect(noKey.message.contains("together"))
        let noCA = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, tlsServerName: "broker.example", environment: [:])
        }
        #expect(noCA.message.contains("CA file"))
        let badName = try #require(throws: MQTTError.self) {
            try MQTTBrokerConfiguration(endpoints: endpoints, tlsCA: folder + "/ca.crt", tlsServerName: "bad name", environment: [:])
        }
        #expect(badName.message.contains("'bad name'"))
    }
}
