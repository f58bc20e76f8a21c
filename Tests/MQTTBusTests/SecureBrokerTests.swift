import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

/// A broker from broker-config/secure.conf with fresh credentials from make-credentials.sh.
struct SecureBroker {
    let broker: MosquittoProcess
    let secrets: String
    let passwords: [String: String]

    /// Runs `body` with a new secure broker (TLS, passwords, ACL) and removes its secrets after.
    static func with<T>(_ body: (SecureBroker) async throws -> T) async throws -> T {
        let secrets = try makeCredentials()
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        let env = try String(contentsOfFile: secrets + "/credentials.env", encoding: .utf8)
        var passwords: [String: String] = [:]
        for line in env.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { passwords[parts[0].replacingOccurrences(of: "S2M3_MQTT_PASSWORD_", with: "").lowercased()] = parts[1] }
        }
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("secure.conf"), secretsDirectory: secrets)
        return try await MosquittoProcess.withRunning(configuration) { broker in
            try await body(SecureBroker(broker: broker, secrets: secrets, passwords: passwords))
        }
    }

    /// Runs broker-config/make-credentials.sh into a new temporary directory.
    static func makeCredentials() throws -> String {
        let directory = NSTemporaryDirectory() + TestBroker.unique("s2m3-secrets")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestPaths.brokerConfig("make-credentials.sh"), directory]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TimedOut(what: "make-credentials.sh (exit \(process.terminationStatus))")
        }
        return directory
    }

    var tls: MQTTTLSConfiguration { MQTTTLSConfiguration(caFile: secrets + "/ca.crt") }

    /// A configuration for `role` with its password (or `password`), over TLS to 127.0.0.1, with
    /// client id `clientID` (default: a unique one).
    func configuration(_ role: String, password: String? = nil, clientID: String? = nil) -> MQTTConfiguration {
        var configuration = TestBroker.configuration(broker, id: "secure-\(role)")
        if let clientID { configuration.clientID = clientID }
        configuration.username = role
        configuration.password = password ?? passwords[role]
        configuration.tls = tls
        configuration.connectTimeout = .seconds(3)
        return configuration
    }

    func connect(_ role: String, clientID: String? = nil) async throws -> MQTTConnection {
        try await BusTest.connect(configuration(role, clientID: clientID))
    }
}

@Suite("MQTT secure broker")
struct SecureBrokerTests {
    @Test func wrongPasswordIsRefusedWithClearError() async throws {
        try await SecureBroker.with { secure in
            let connection = MQTTConnection(configuration: secure.configuration("client", password: "wrong"), logger: BusTest.logger)
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect(error.code == .connectionRefused)
            #expect(error.reasonCode == 0x86 || error.reasonCode == 0x87)
            #expect(error.message.contains("password"))
            #expect(!connection.isConnected)
        }
    }

    @Test func tlsConnectionWorksForEveryRole() async throws {
        try await SecureBroker.with { secure in
            let root = TestBroker.unique("tls")
            let planner = try await secure.connect("planner")
            try await planner.subscribe("s2m3/v1/devices/+/state")
            let device = try await secure.connect("device")
            try await device.publish(MQTTMessage(topic: "s2m3/v1/devices/\(root)/state", string: "online", retain: false))
            let message = try #require(try await planner.receive(1).first)
            #expect(message.topic == "s2m3/v1/devices/\(root)/state")
            #expect(message.payloadString == "online")
            for role in ["aggregator", "client"] {
                let other = try await secure.connect(role)
                #expect(other.isConnected)
                await other.disconnect()
            }
            await device.disconnect()
            await planner.disconnect()
        }
    }

    /// A client may publish requests but not results: the QoS 1 publish to results throws 0x87.
    @Test func aclForbiddenPublishThrows() async throws {
        try await SecureBroker.with { secure in
            let task = TestBroker.unique("acl-pub")
            let client = try await secure.connect("client")
            try await client.publish(MQTTMessage(topic: "s2m3/v1/requests/\(task)", string: "{}"))
            let error = try await #require(throws: MQTTError.self) {
                try await client.publish(MQTTMessage(topic: "s2m3/v1/results/\(task)", string: "{}"))
            }
            #expect(error.code == .publishRefused)
            #expect(error.reasonCode == 0x87)
            // The connection stays usable.
            try await client.publish(MQTTMessage(topic: "s2m3/v1/requests/\(task)", string: "{}"))
            await client.disconnect()
        }
    }

    /// Mosquitto 2.0 grants a forbidden SUBSCRIBE but delivers nothing on it: a client subscribed
    /// to module invocations gets none, while a device (allowed) does.
    @Test func aclForbiddenSubscriptionReceivesNothing() async throws {
        try await SecureBroker.with { secure in
            let name = TestBroker.unique("acl-sub")
            let client = try await secure.connect("client")
            try await client.subscribe("s2m3/v1/modules/\(name)/#")
            try await client.subscribe("s2m3/v1/results/\(name)")
            let device = try await secure.connect("device")
            try await device.subscribe("s2m3/v1/modules/\(name)/#")

            let aggregator = try await secure.connect("aggregator")
            try await aggregator.publish(MQTTMessage(topic: "s2m3/v1/modules/\(name)/dev/invoke", string: "job"))
            try await aggregator.publish(MQTTMessage(topic: "s2m3/v1/results/\(name)", string: "marker"))

            let delivered = try #require(try await device.receive(1).first)
            #expect(delivered.payloadString == "job")
            // Same publisher, in order: the forbidden "job" would arrive before the marker.
            let first = try #require(try await client.receive(1).first)
            #expect(first.payloadString == "marker")
            for connection in [aggregator, device, client] { await connection.disconnect() }
        }
    }

    /// The documented reply path: an aggregator answers on `clients/{client}/replies` (its QoS 1
    /// publish is accepted), the client with that id receives it, and another client subscribed
    /// to the same topic receives nothing (Mosquitto grants the subscription, so delivery is what
    /// is checked: a later marker on a topic it may read arrives first).
    @Test func replyTopicReachesOnlyItsOwnClient() async throws {
        try await SecureBroker.with { secure in
            let owner = TestBroker.unique("owner")
            let reply = "s2m3/v1/clients/\(owner)/replies"
            let marker = "s2m3/v1/results/\(TestBroker.unique("marker"))"
            let client = try await secure.connect("client", clientID: owner)
            try await client.subscribe(reply)
            let other = try await secure.connect("client")
            try await other.subscribe(reply)
            try await other.subscribe(marker)

            let aggregator = try await secure.connect("aggregator")
            try await aggregator.publish(MQTTMessage(topic: reply, string: "answer"))
            try await aggregator.publish(MQTTMessage(topic: marker, string: "marker"))

            let answer = try #require(try await client.receive(1).first)
            #expect(answer.topic == reply && answer.payloadString == "answer")
            let first = try #require(try await other.receive(1).first)
            #expect(first.payloadString == "marker", "another client read \(owner)'s reply topic")
            for connection in [aggregator, other, client] { await connection.disconnect() }
        }
    }

    /// A device (client id = device id) reads its own retained state but not another device's.
    @Test func deviceReadsOnlyItsOwnState() async throws {
        try await SecureBroker.with { secure in
            let me = TestBroker.unique("box")
            let peer = TestBroker.unique("peer")
            let writer = try await secure.connect("device")
            try await writer.publish(MQTTMessage(topic: "s2m3/v1/devices/\(peer)/state", string: "peer", retain: true))
            try await writer.publish(MQTTMessage(topic: "s2m3/v1/devices/\(me)/state", string: "mine", retain: true))

            let device = try await secure.connect("device", clientID: me)
            try await device.subscribe("s2m3/v1/devices/\(peer)/state")
            try await device.subscribe("s2m3/v1/devices/\(me)/state")
            let received = try #require(try await device.receive(1).first)
            #expect(received.topic == "s2m3/v1/devices/\(me)/state" && received.payloadString == "mine")
            // Nothing else arrives: the peer's retained state is not delivered.
            let more = try? await device.receive(1, within: .milliseconds(500))
            #expect(more == nil, "a device read another device's state: \(more?.first?.topic ?? "")")
            // Clean up the retained messages.
            for topic in ["s2m3/v1/devices/\(peer)/state", "s2m3/v1/devices/\(me)/state"] {
                try await writer.publish(MQTTMessage(topic: topic, payload: [], retain: true))
            }
            for connection in [device, writer] { await connection.disconnect() }
        }
    }

    /// `serverName`: the broker's certificate names localhost and 127.0.0.1; connecting to
    /// 127.0.0.1 while requiring "localhost" works, requiring another name fails the handshake.
    @Test func serverNameIsCheckedAgainstTheCertificate() async throws {
        try await SecureBroker.with { secure in
            var named = secure.configuration("client")
            named.tls?.serverName = "localhost"
            let good = try await BusTest.connect(named)
            #expect(good.isConnected)
            await good.disconnect()

            var wrong = secure.configuration("client")
            wrong.tls?.serverName = "broker.invalid"
            let connection = MQTTConnection(configuration: wrong, logger: BusTest.logger)
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect(error.code == .tlsFailure, "\(error)")
            #expect(error.message.contains("certificate"), "\(error)")
        }
    }

    /// A CA that did not sign the broker's certificate fails with a TLS error that says so.
    @Test func wrongCAIsATLSFailure() async throws {
        try await SecureBroker.with { secure in
            let otherSecrets = try SecureBroker.makeCredentials()
            defer { try? FileManager.default.removeItem(atPath: otherSecrets) }
            var configuration = secure.configuration("client")
            configuration.tls = MQTTTLSConfiguration(caFile: otherSecrets + "/ca.crt")
            let connection = MQTTConnection(configuration: configuration, logger: BusTest.logger)
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect(error.code == .tlsFailure, "\(error)")
            #expect(error.message.contains("CA"), "\(error)")
        }
    }
}
