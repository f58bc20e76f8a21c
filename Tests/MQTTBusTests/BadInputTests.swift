import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

@Suite("MQTT bad input")
struct BadInputTests {
    @Test func closedPortIsBrokerUnreachable() async throws {
        let port = try closedPort()
        var configuration = MQTTConfiguration(endpoints: [MQTTEndpoint(host: "127.0.0.1", port: port)], clientID: TestBroker.unique("closed"))
        configuration.connectTimeout = .seconds(2)
        let connection = MQTTConnection(configuration: configuration, logger: BusTest.logger)
        let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
        #expect(error.code == .brokerUnreachable)
        #expect(error.mosquittoCode != nil)
        #expect(error.message.contains("127.0.0.1:\(port)"))
        #expect(error.message.lowercased().contains("refused"))
        // Not connected: operations fail with a typed error, not a crash or a hang.
        let publishError = try await #require(throws: MQTTError.self) {
            try await connection.publish(MQTTMessage(topic: "t", string: "x", qos: .atMostOnce))
        }
        #expect(publishError.code == .notConnected)
        await connection.disconnect()
    }

    @Test func endpointsAreTriedInTurn() async throws {
        try await TestBroker.withDev { broker in
            let closed = MQTTEndpoint(host: "127.0.0.1", port: try closedPort())
            let good = MQTTEndpoint(host: broker.host, port: broker.port)
            let connection = try await BusTest.connect(MQTTConfiguration(endpoints: [closed, good], clientID: TestBroker.unique("turns")))
            let event = try await connection.waitForEvent("connected") { _ in true }
            #expect(event == .connected(good, sessionPresent: false))
            await connection.disconnect()
        }
    }

    @Test func wrongCAIsTLSFailure() async throws {
        try await SecureBroker.with { secure in
            let otherCA = try SecureBroker.makeCredentials()
            defer { try? FileManager.default.removeItem(atPath: otherCA) }
            var configuration = secure.configuration("client")
            configuration.tls = MQTTTLSConfiguration(caFile: otherCA + "/ca.crt")
            let connection = MQTTConnection(configuration: configuration, logger: BusTest.logger)
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect(error.code == .tlsFailure)
            #expect(error.message.contains("caFile"))
            await connection.disconnect()
        }
    }

    @Test func missingCAFileIsTLSFailure() async throws {
        var configuration = MQTTConfiguration(endpoints: [MQTTEndpoint(host: "127.0.0.1", port: 1)], clientID: TestBroker.unique("noca"))
        configuration.tls = MQTTTLSConfiguration(caFile: "/nonexistent/ca.crt")
        let connection = MQTTConnection(configuration: configuration, logger: BusTest.logger)
        let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
        #expect(error.code == .tlsFailure)
        #expect(error.message.contains("/nonexistent/ca.crt"))
    }

    @Test func plainClientOnTLSPortTimesOutOrFails() async throws {
        try await SecureBroker.with { secure in
            var configuration = secure.configuration("client")
            configuration.tls = nil
            configuration.connectTimeout = .seconds(1)
            let connection = MQTTConnection(configuration: configuration, logger: BusTest.logger)
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect([.timeout, .connectionLost, .brokerUnreachable, .library].contains(error.code))
            await connection.disconnect()
        }
    }

    @Test func oversizedPayloadIsRejected() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("big")
            let connection = try await BusTest.connect(broker, id: "big")
            try await connection.subscribe("\(root)/#")
            for qos in [MQTTQoS.atMostOnce, .atLeastOnce] {
                let error = try await #require(throws: MQTTError.self) {
                    try await connection.publish(MQTTMessage(topic: "\(root)/big", payload: [UInt8](repeating: 7, count: 32 * 1024 * 1024 + 1), qos: qos))
                }
                #expect(error.code == .payloadTooLarge)
            }
            // Still connected and usable; a 20 MiB payload (over the request limit, under the packet limit) goes through.
            let image = [UInt8](repeating: 1, count: 20 * 1024 * 1024)
            try await connection.publish(MQTTMessage(topic: "\(root)/ok", payload: image))
            let received = try #require(try await connection.receive(1).first)
            #expect(received.payload.count == image.count)
            await connection.disconnect()
        }
    }

    @Test func wildcardPublishTopicIsInvalid() async throws {
        try await TestBroker.withDev { broker in
            let connection = try await BusTest.connect(broker, id: "wild")
            for qos in [MQTTQoS.atMostOnce, .atLeastOnce] {
                let error = try await #require(throws: MQTTError.self) {
                    try await connection.publish(MQTTMessage(topic: "a/+/b", string: "x", qos: qos))
                }
                #expect(error.code == .invalidArgument)
            }
            let subscribeError = try await #require(throws: MQTTError.self) { try await connection.subscribe("a/#/b") }
            #expect(subscribeError.code == .invalidArgument)
            await connection.disconnect()
        }
    }

    @Test func disconnectedConnectionCannotBeReused() async throws {
        try await TestBroker.withDev { broker in
            let connection = try await BusTest.connect(broker, id: "reuse")
            await connection.disconnect()
            let error = try await #require(throws: MQTTError.self) { try await connection.connect() }
            #expect(error.code == .closed)
            var iterator = connection.messages.makeAsyncIterator()
            #expect(await iterator.next() == nil)
        }
    }

    @Test func endpointParsing() throws {
        #expect(try MQTTEndpoint(parsing: "127.0.0.1:1883") == MQTTEndpoint(host: "127.0.0.1", port: 1883))
        #expect(try MQTTEndpoint(parsing: "broker") == MQTTEndpoint(host: "broker", port: 1883))
        #expect(try MQTTEndpoint(parsing: "[::1]:8883") == MQTTEndpoint(host: "::1", port: 8883))
        for bad in ["", ":1", "host:", "host:0", "host:70000", "a:b:c", "[::1"] {
            #expect(throws: MQTTError.self) { try MQTTEndpoint(parsing: bad) }
        }
    }

    /// A loopback port with nothing listening.
    private func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
