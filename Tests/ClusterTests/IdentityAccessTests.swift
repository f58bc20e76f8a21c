import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

/// Least privilege per identity on a real broker from broker-config/secure.conf, with the ACL and
/// passwords make-credentials.sh makes for two devices, two aggregators, the planner and two
/// clients. Every forbidden action is checked by what the broker does: a QoS 1 publish refused
/// with 0x87, or nothing delivered (Mosquitto 2.0.11 grants a forbidden SUBSCRIBE), shown by a
/// later marker from the same publisher arriving first.
@Suite("Identities on the secure broker", .serialized)
struct IdentityAccessTests {
    static let topics = Topics()

    /// The broker, its credentials folder and the identities' passwords.
    struct Broker {
        let process: MosquittoProcess
        let secrets: String
        let passwords: [String: String]

        func configuration(_ identity: String, clientID: String? = nil) -> MQTTConfiguration {
            var configuration = MQTTConfiguration(
                endpoints: [MQTTEndpoint(host: process.host, port: process.port)], clientID: clientID ?? identity)
            configuration.username = identity
            configuration.password = passwords[identity]
            configuration.tls = MQTTTLSConfiguration(caFile: secrets + "/ca.crt")
            configuration.connectTimeout = .seconds(3)
            return configuration
        }

        /// A connected connection as `identity`, and its inbox.
        func connect(_ identity: String, clientID: String? = nil) async throws -> (MQTTConnection, MQTTMessageStream) {
            let connection = MQTTConnection(configuration: configuration(identity, clientID: clientID), logger: TestBroker.logger("identity"))
            try await connection.connect()
            return (connection, connection.messages)
        }
    }

    static func withBroker<T>(_ body: (Broker) async throws -> T) async throws -> T {
        let secrets = NSTemporaryDirectory() + TestBroker.unique("s2m3-identities")
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = [
            TestPaths.brokerConfig("make-credentials.sh"), "--devices", "box-1 box-2", "--aggregators", "agg-1 agg-2",
            "--planners", "planner", "--clients", "client client-2", "--monitors", "", secrets,
        ]
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        try #require(script.terminationStatus == 0, "make-credentials.sh failed")
        var passwords: [String: String] = [:]
        for line in try String(contentsOfFile: secrets + "/identities", encoding: .utf8).split(separator: "\n") {
            guard let identity = line.split(separator: " ").last.map(String.init) else { continue }
            passwords[identity] = try String(contentsOfFile: secrets + "/\(identity).password", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let configuration = MosquittoProcessConfiguration(template: TestPaths.brokerConfig("secure.conf"), secretsDirectory: secrets)
        return try await MosquittoProcess.withRunning(configuration) { process in
            try await body(Broker(process: process, secrets: secrets, passwords: passwords))
        }
    }

    /// Lets `device` receive invocations of `module`, as the planner does from the plan: the
    /// planner identity adds the grant through the dynamic-security plugin and waits for its answer.
    static func grant(_ module: String, to device: String, on broker: Broker) async throws {
        let (planner, inbox) = try await broker.connect("planner")
        try await planner.subscribe(Topics.dynamicSecurityResponses)
        let command = """
            {"commands":[{"command":"addRoleACL","rolename":"s2m3-invoke-\(device)","acltype":"publishClientReceive",\
            "topic":"\(topics.moduleInvoke(module: module, device: device))","priority":0,"allow":true}]}
            """
        try await planner.publish(MQTTMessage(topic: Topics.dynamicSecurityCommands, string: command))
        let answer = try await first(inbox, "the dynamic-security answer")
        #expect(answer.payloadString.contains("addRoleACL") && !answer.payloadString.contains("error"), "\(answer.payloadString)")
        await planner.disconnect()
    }

    /// The first message of `inbox` within 5 s.
    static func first(_ inbox: MQTTMessageStream, _ what: String) async throws -> MQTTMessage {
        try await within(.seconds(5), what) {
            for await message in inbox { return message }
            throw TimedOut(what: what)
        }
    }

    /// `publish` is refused by the broker's ACL (QoS 1: PUBACK 0x87).
    static func expectRefused(_ connection: MQTTConnection, _ topic: String, _ note: String) async {
        do {
            try await connection.publish(MQTTMessage(topic: topic, string: "forged"))
            Issue.record("\(note): the broker accepted a publish to \(topic)")
        } catch let error as MQTTError {
            #expect(error.code == .publishRefused && error.reasonCode == 0x87, "\(note): \(error)")
        } catch {
            Issue.record("\(note): \(error)")
        }
    }

    @Test func aDeviceCannotSpeakForAnotherDevice() async throws {
        try await Self.withBroker { broker in
            let (planner, inbox) = try await broker.connect("planner")
            for filter in [Self.topics.allDeviceStates, Self.topics.allDeviceCapabilities, Self.topics.allDeviceTelemetry] {
                try await planner.subscribe(filter)
            }
            let (box1, _) = try await broker.connect("box-1")
            for topic in [Self.topics.deviceState("box-2"), Self.topics.deviceCapabilities("box-2"), Self.topics.deviceTelemetry("box-2")] {
                await Self.expectRefused(box1, topic, "box-1 impersonating box-2")
            }
            // QoS 0 is dropped silently: box-1's own telemetry, sent after, is what the planner sees first.
            try await box1.publish(MQTTMessage(topic: Self.topics.deviceTelemetry("box-2"), string: "forged", qos: .atMostOnce))
            try await box1.publish(MQTTMessage(topic: Self.topics.deviceTelemetry("box-1"), string: "own"))
            let seen = try await Self.first(inbox, "box-1's own telemetry")
            #expect(seen.topic == Self.topics.deviceTelemetry("box-1") && seen.payloadString == "own")
            for connection in [planner, box1] { await connection.disconnect() }
        }
    }

    /// A device receives the invocations of the modules granted to it (the planner grants those of
    /// the plan: PlannerAccessTests), never another device's, nor its own of a module not granted.
    @Test func aDeviceReceivesOnlyItsOwnInvocations() async throws {
        try await Self.withBroker { broker in
            try await Self.grant("m", to: "box-1", on: broker)
            try await Self.grant("m", to: "box-2", on: broker)
            let (box1, inbox) = try await broker.connect("box-1")
            try await box1.subscribe("\(Self.topics.root)/modules/#")
            try await box1.subscribe(Self.topics.moduleInvoke(module: "m", device: "box-2"))
            let (aggregator, _) = try await broker.connect("agg-1")
            try await aggregator.publish(MQTTMessage(topic: Self.topics.moduleInvoke(module: "m", device: "box-2"), string: "box-2's job"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.moduleInvoke(module: "n", device: "box-1"), string: "not granted"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.moduleInvoke(module: "m", device: "box-1"), string: "box-1's job"))
            let seen = try await Self.first(inbox, "box-1's own invocation")
            #expect(seen.payloadString == "box-1's job", "box-1 read \(seen.topic)")
            // Only an aggregator sends invocations.
            let (client, _) = try await broker.connect("client")
            await Self.expectRefused(client, Self.topics.moduleInvoke(module: "m", device: "box-1"), "a client invoking a module")
            for connection in [box1, aggregator, client] { await connection.disconnect() }
        }
    }

    @Test func aClientReadsOnlyItsOwnReplies() async throws {
        try await Self.withBroker { broker in
            let (other, inbox) = try await broker.connect("client-2")
            try await other.subscribe(Self.topics.clientReplies("client"))
            try await other.subscribe("\(Self.topics.root)/results/+")
            try await other.subscribe("\(Self.topics.root)/errors/+")
            try await other.subscribe(Self.topics.clientReplies("client-2"))
            let (aggregator, _) = try await broker.connect("agg-1")
            try await aggregator.publish(MQTTMessage(topic: Self.topics.clientReplies("client"), string: "client's answer"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.results("classify-image"), string: "a result"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.errors("classify-image"), string: "an error"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.clientReplies("client-2"), string: "own"))
            let seen = try await Self.first(inbox, "client-2's own reply")
            #expect(seen.payloadString == "own", "client-2 read \(seen.topic)")
            for connection in [other, aggregator] { await connection.disconnect() }
        }
    }

    @Test func partialsCarryTheirSenderInTheTopic() async throws {
        try await Self.withBroker { broker in
            let (aggregator, inbox) = try await broker.connect("agg-1")
            try await aggregator.subscribe(Self.topics.allAggregatorPartials("agg-1"))
            let (otherAggregator, otherInbox) = try await broker.connect("agg-2")
            try await otherAggregator.subscribe(Self.topics.allAggregatorPartials("agg-1"))
            try await otherAggregator.subscribe(Self.topics.allAggregatorPartials("agg-2"))
            let (box1, _) = try await broker.connect("box-1")
            await Self.expectRefused(box1, Self.topics.aggregatorPartials("agg-1", device: "box-2"), "box-1 forging box-2's partial")
            try await box1.publish(MQTTMessage(topic: Self.topics.aggregatorPartials("agg-1", device: "box-1"), string: "box-1's partial"))
            try await box1.publish(MQTTMessage(topic: Self.topics.aggregatorPartials("agg-2", device: "box-1"), string: "for agg-2"))
            let seen = try await Self.first(inbox, "box-1's partial")
            #expect(seen.topic == Self.topics.aggregatorPartials("agg-1", device: "box-1"))
            let otherSeen = try await Self.first(otherInbox, "agg-2's own partial")
            #expect(otherSeen.payloadString == "for agg-2", "agg-2 read agg-1's partials: \(otherSeen.topic)")
            for connection in [aggregator, otherAggregator, box1] { await connection.disconnect() }
        }
    }

    @Test func onlyThePlannerWritesThePlanAndAssignments() async throws {
        try await Self.withBroker { broker in
            let (box1, _) = try await broker.connect("box-1")
            await Self.expectRefused(box1, Self.topics.plan, "a device writing the plan")
            await Self.expectRefused(box1, Self.topics.deviceAssignment("box-1"), "a device writing its assignment")
            let (aggregator, _) = try await broker.connect("agg-1")
            await Self.expectRefused(aggregator, Self.topics.plan, "an aggregator writing the plan")
            let (client, _) = try await broker.connect("client")
            await Self.expectRefused(client, Self.topics.plan, "a client writing the plan")
            let (planner, _) = try await broker.connect("planner")
            try await planner.publish(MQTTMessage(topic: Self.topics.deviceAssignment("box-1"), string: "{}"))
            try await planner.publish(MQTTMessage(topic: Self.topics.plan, string: "{}"))
            for connection in [box1, aggregator, client, planner] { await connection.disconnect() }
        }
    }

    /// Another identity connecting with box-1's client id gets its own user name as client id
    /// (use_username_as_clientid): box-1 stays connected and keeps its invocations, the imposter
    /// receives none, and the broker never closes box-1's connection for a duplicate id.
    @Test func nobodyTakesOverAnotherIdentitysClientID() async throws {
        try await Self.withBroker { broker in
            try await Self.grant("m", to: "box-1", on: broker)
            let (box1, inbox) = try await broker.connect("box-1")
            try await box1.subscribe(Self.topics.moduleInvoke(module: "m", device: "box-1"))
            let (imposter, imposterInbox) = try await broker.connect("client-2", clientID: "box-1")
            try await imposter.subscribe(Self.topics.moduleInvoke(module: "m", device: "box-1"))
            try await imposter.subscribe(Self.topics.clientReplies("client-2"))
            let (aggregator, _) = try await broker.connect("agg-1")
            try await aggregator.publish(MQTTMessage(topic: Self.topics.moduleInvoke(module: "m", device: "box-1"), string: "job"))
            try await aggregator.publish(MQTTMessage(topic: Self.topics.clientReplies("client-2"), string: "marker"))
            let seen = try await Self.first(inbox, "box-1's invocation")
            #expect(seen.payloadString == "job")
            let imposterSeen = try await Self.first(imposterInbox, "the imposter's marker")
            #expect(imposterSeen.payloadString == "marker", "the imposter received \(imposterSeen.topic)")
            #expect(box1.isConnected)
            let log = (try? String(contentsOfFile: broker.process.logPath, encoding: .utf8)) ?? ""
            #expect(!log.contains("already connected"), "the broker closed a connection for a duplicate client id:\n\(log)")
            #expect(log.contains("box-1"), "the broker log names the connections:\n\(log)")
            for connection in [box1, imposter, aggregator] { await connection.disconnect() }
        }
    }
}
