import ArgumentParser
import Foundation
import Logging
import MQTTBus

/// `s2m3 bus-probe` (hidden): connects with a last will, prints `ready`, and waits to be killed.
/// The MQTTBus tests run it as a real child process to check that the will arrives after SIGKILL.
struct BusProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus-probe",
        abstract: "Connect to a broker with a last will and wait (test helper).",
        shouldDisplay: false
    )

    @Option(help: "Broker address, host:port.")
    var broker: String

    @Option(help: "MQTT client id.")
    var clientID: String

    @Option(help: "Topic of the last will.")
    var willTopic: String

    @Option(help: "Payload of the last will.")
    var willPayload: String = "offline"

    @Option(help: "Content type of the last will.")
    var willContentType: String?

    @Option(help: "User property of the last will, name=value (repeatable).")
    var willUserProperty: [String] = []

    @Flag(help: "Retain the last will.")
    var willRetain = false

    func run() async throws {
        let endpoint = try MQTTEndpoint(parsing: broker)
        let userProperties = willUserProperty.map { pair -> MQTTUserProperty in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return MQTTUserProperty(parts[0], parts.count > 1 ? parts[1] : "")
        }
        let will = MQTTMessage(
            topic: willTopic,
            string: willPayload,
            qos: .atLeastOnce,
            retain: willRetain,
            properties: MQTTProperties(contentType: willContentType, userProperties: userProperties)
        )
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: clientID, will: will),
            logger: Logger(label: "s2m3.bus-probe")
        )
        try await connection.connect()
        print("ready")
        fflush(nil)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
