import ArgumentParser
import MQTTBus
import S2M3Core

/// `--broker` and `--root`, as the commands that join a running cluster take them.
struct BrokerOptions: ParsableArguments {
    @Option(help: "Broker address, host:port.")
    var broker: String = "127.0.0.1:1883"

    @Option(help: "Topic root.")
    var root: String = Topics.defaultRoot

    /// `--broker` parsed.
    func endpoint() throws -> MQTTEndpoint { try MQTTEndpoint(parsing: broker) }
}
