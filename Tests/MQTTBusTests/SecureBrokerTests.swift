import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

/// A broker from broker-config/secure.conf with fresh credentials from make-credentials.sh for
/// ``identities``: two devices, two aggregators, the planner, two clients, a monitor and a camera.
struct SecureBroker {
    static let identities = [
        "--devices", "box-1 box-2", "--aggregators", "agg-1 agg-2", "--planners", "planner", "--clients", "client client-2",
        "--monitors", "up", "--sources", "cam-1",
    ]
    let broker: MosquittoProcess
    let secrets: String
    let passwords: [String: String]

    /// Runs `body` with a new secure broker (TLS, passwords, ACL) and removes its secrets after.
    static func with<T>(_ body: (SecureBroker) async throws -> T) async throws -> T {
        let secrets = try makeCredentials()
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        var passwords: [String: String] = [:]
        for line in try String(contentsOfFile: secrets + "/identities", encoding: .utf8).split(separator: "\n") {
            guard let identity = line.split(separator: " ").last.map(String.init) else { continue }
            passwords[identity] = try String(contentsOfFile: secrets + "/\(identity).password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
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
        process.arguments = [TestPaths.brokerConfig("make-credentials.sh")] + identities + [directory]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TimedOut(what: "make-credentials.sh (exit \(process.terminationStatus))")
        }
        return directory
    }

    var tls: MQTTTLSConfiguration { MQTTTLSConfiguration(caFile: secrets + "/ca.crt") }

    /// A configuration for `identity` with its password (or `password`), over TLS to 127.0.0.1,
    /// with client id `clientID` (default: the identity; the broker makes it the user name anyway).
    func configuration(_ identity: String, password: String? = nil, clientID: String? = nil) -> MQTTConfiguration {
        var configuration = TestBroker.configuration(broker, id: "secure-\(identity)")
        configuration.clientID = clientID ?? identity
        configuration.username = identity
        configuration.password = password ?? passwords[identity]
        configuration.tls = tls
        configuration.connectTimeout = .seconds(3)
        return configuration
    }

    func connect(_ identity: String, clientID: String? = nil) async throws -> MQTTConnection {
        try await BusTest.connect(configuration(identity, clientID: clientID))
    }

    /// Lets `device` receive the invocations of `module`, as the planner does from the plan
    /// (docs/security.md): the planner identity sends the dynamic-security plugin `addRoleACL`
    /// and waits for its answer.
    func grant(_ module: String, to device: String) async throws {
        let planner = try await connect("planner")
        try await planner.subscribe("$CONTROL/dynamic-security/v1/response")
        try await planner.publish(MQTTMessage(topic: "$CONTROL/dynamic-security/v1", string: """
            {"commands":[{"command":"addRoleACL","rolename":"s2m3-invoke-\(device)","acltype":"publishClientReceive",\
            "topic":"s2m3/v1/modules/\(module)/\(device)/invoke","priority":0,"allow":true}]}
            """))
        let answer = try #require(try await planner.receive(1).first).payloadString
        #expect(answer.contains("addRoleACL") && !answer.contains("error"), "\(answer)")
        await planner.disconnect()
    }
}

@Suite("MQTT secure broker", .serialized)
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
            let planner = try await secure.connect("planner")
            try await planner.subscribe("s2m3/v1/devices/+/state")
            let device = try await secure.connect("box-1")
            try await device.publish(MQTTMessage(topic: "s2m3/v1/devices/box-1/state", string: "online", retain: false))
            let message = try #require(try await planner.receive(1).first)
            #expect(message.topic == "s2m3/v1/devices/box-1/state")
            #expect(message.payloadString == "online")
            for role in ["agg-1", "client", "up"] {
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

    /// A camera or microphone writes only its own `sources/{id}/…` (state, frames, audio); a client
    /// declares stream subscriptions.
    @Test func sourceWritesOnlyItsOwnTopics() async throws {
        try await SecureBroker.with { secure in
            let camera = try await secure.connect("cam-1")
            try await camera.publish(MQTTMessage(topic: "s2m3/v1/sources/cam-1/frames", payload: [0xFF, 0xD8]))
            try await camera.publish(MQTTMessage(topic: "s2m3/v1/sources/cam-1/state", string: "{}", retain: true))
            try await camera.publish(MQTTMessage(topic: "s2m3/v1/sources/cam-1/audio", payload: [0, 0]))
            for topic in ["s2m3/v1/sources/cam-2/frames", "s2m3/v1/sources/cam-2/audio", "s2m3/v1/streams/line-1", "s2m3/v1/results/classify-image/cam-1"] {
                let error = try await #require(throws: MQTTError.self, "\(topic)") {
                    try await camera.publish(MQTTMessage(topic: topic, string: "{}"))
                }
                #expect(error.reasonCode == 0x87, "\(topic)")
            }
            try await camera.publish(MQTTMessage(topic: "s2m3/v1/sources/cam-1/state", payload: [], retain: true))
            await camera.disconnect()
            let client = try await secure.connect("client")
            try await client.publish(MQTTMessage(topic: "s2m3/v1/streams/line-1", payload: [], retain: true))
            let error = try await #require(throws: MQTTError.self) {
                try await client.publish(MQTTMessage(topic: "s2m3/v1/sources/cam-1/frames", payload: [0xFF, 0xD8]))
            }
            #expect(error.reasonCode == 0x87)
            await client.disconnect()
        }
    }

    /// Mosquitto 2.0 grants a forbidden SUBSCRIBE but delivers nothing on it: a client subscribed
    /// to module invocations gets none, while the device they are addressed to (and granted) does.
    @Test func aclForbiddenSubscriptionReceivesNothing() async throws {
        try await SecureBroker.with { secure in
            let name = TestBroker.unique("acl-sub")
            try await secure.grant(name, to: "box-1")
            let client = try await secure.connect("client")
            try await client.subscribe("s2m3/v1/modules/\(name)/#")
            try await client.subscribe("s2m3/v1/clients/client/replies")
            let device = try await secure.connect("box-1")
            try await device.subscribe("s2m3/v1/modules/\(name)/#")

            let aggregator = try await secure.connect("agg-1")
            try await aggregator.publish(MQTTMessage(topic: "s2m3/v1/modules/\(name)/box-1/invoke", string: "job"))
            try await aggregator.publish(MQTTMessage(topic: "s2m3/v1/clients/client/replies", string: "marker"))

            let delivered = try #require(try await device.receive(1).first)
            #expect(delivered.payloadString == "job")
            // Same publisher, in order: the forbidden "job" would arrive before the marker.
            let first = try #require(try await client.receive(1).first)
            #expect(first.payloadString == "marker")
            for connection in [aggregator, device, client] { await connection.disconnect() }
        }
    }

    /// The documented reply path: an aggregator answers on `clients/{client}/replies` (its QoS 1
    /// publish is accepted), the client with that identity receives it, and another client
    /// subscribed to the same topic receives nothing (Mosquitto grants the subscription, so
    /// delivery is what is checked: a later marker on a topic it may read arrives first).
    @Test func replyTopicReachesOnlyItsOwnClient() async throws {
        try await SecureBroker.with { secure in
            let reply = "s2m3/v1/clients/client/replies"
            let marker = "s2m3/v1/clients/client-2/replies"
            let client = try await secure.connect("client")
            try await client.subscribe(reply)
            let other = try await secure.connect("client-2")
            try await other.subscribe(reply)
            try await other.subscribe(marker)

            let aggregator = try await secure.connect("agg-1")
            try await aggregator.publish(MQTTMessage(topic: reply, string: "answer"))
            try await aggregator.publish(MQTTMessage(topic: marker, string: "marker"))

            let answer = try #require(try await client.receive(1).first)
            #expect(answer.topic == reply && answer.payloadString == "answer")
            let first = try #require(try await other.receive(1).first)
            #expect(first.payloadString == "marker", "another client read client's reply topic")
            for connection in [aggregator, other, client] { await connection.disconnect() }
        }
    }

    /// A device reads its own retained state but not another device's.
    @Test func deviceReadsOnlyItsOwnState() async throws {
        try await SecureBroker.with { secure in
            let peer = try await secure.connect("box-2")
            try await peer.publish(MQTTMessage(topic: "s2m3/v1/devices/box-2/state", string: "peer", retain: true))
            let device = try await secure.connect("box-1")
            try await device.publish(MQTTMessage(topic: "s2m3/v1/devices/box-1/state", string: "mine", retain: true))
            try await device.subscribe("s2m3/v1/devices/box-2/state")
            try await device.subscribe("s2m3/v1/devices/box-1/state")
            let received = try #require(try await device.receive(1).first)
            #expect(received.topic == "s2m3/v1/devices/box-1/state" && received.payloadString == "mine")
            // Nothing else arrives: the peer's retained state is not delivered.
            let more = try? await device.receive(1, within: .milliseconds(500))
            #expect(more == nil, "a device read another device's state: \(more?.first?.topic ?? "")")
            for connection in [device, peer] { await connection.disconnect() }
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
