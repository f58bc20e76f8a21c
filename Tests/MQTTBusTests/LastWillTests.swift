import Foundation
import LocalBroker
import MQTTBus
import TestSupport
import Testing

@Suite("MQTT last will")
struct LastWillTests {
    /// A real child process (`s2m3 bus-probe`) connects with a will carrying MQTT 5 properties and
    /// is killed with SIGKILL: the broker publishes the will.
    @Test func willArrivesWhenChildIsKilled() async throws {
        let executable = try TestPaths.s2m3Executable
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("will")
            let watcher = try await BusTest.connect(broker, id: "will-watch")
            try await watcher.subscribe("\(root)/state")

            let child = try ChildProcess.spawn(executable, [
                "bus-probe", "--broker", "\(broker.host):\(broker.port)",
                "--client-id", TestBroker.unique("will-child"),
                "--will-topic", "\(root)/state", "--will-payload", "offline",
                "--will-content-type", "text/plain", "--will-user-property", "cause=killed",
            ], stdout: .pipe)
            let lines = child.outputLines()
            let ready = try await within(.seconds(20), "the probe to connect") {
                for await line in lines where line == "ready" { return true }
                return false
            }
            try #require(ready, "bus-probe exited before connecting")
            child.send(SIGKILL)
            #expect(await child.waitUntilExit() == 128 + SIGKILL)

            let will = try #require(try await watcher.receive(1).first)
            #expect(will.topic == "\(root)/state")
            #expect(will.payloadString == "offline")
            #expect(will.properties.contentType == "text/plain")
            #expect(will.properties.userProperty("cause") == "killed")
            await watcher.disconnect()
        }
    }

    /// A clean disconnect with `sendWill` (reason 0x04) publishes the will; a plain one does not.
    @Test func disconnectWithWillPublishesIt() async throws {
        try await TestBroker.withDev { broker in
            let root = TestBroker.unique("will-dc")
            let watcher = try await BusTest.connect(broker, id: "will-dc-watch")
            try await watcher.subscribe("\(root)/#")
            for name in ["quiet", "loud"] {
                var configuration = TestBroker.configuration(broker, id: "will-dc-\(name)")
                configuration.will = MQTTMessage(topic: "\(root)/\(name)", string: "gone")
                let client = try await BusTest.connect(configuration)
                await client.disconnect(sendWill: name == "loud")
            }
            let publisher = try await BusTest.connect(broker, id: "will-dc-pub")
            try await publisher.publish(MQTTMessage(topic: "\(root)/marker", string: "marker"))
            let received = try await watcher.receive(2)
            #expect(received.map(\.topic) == ["\(root)/loud", "\(root)/marker"])
            await publisher.disconnect()
            await watcher.disconnect()
        }
    }
}
