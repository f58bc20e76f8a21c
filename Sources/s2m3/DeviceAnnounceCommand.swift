import ArgumentParser
import Foundation
import Logging
import MQTTBus
import Planner
import S2M3Bus
import S2M3Core

/// `s2m3 device-announce` (hidden): announces a device the way the device agent will (retained
/// `online` state and capabilities, an `offline` last will of the same session), prints `ready`
/// and waits to be killed. Tests run it as a real child process of the planner's broker.
struct DeviceAnnounceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-announce",
        abstract: "Announce a device's state and capabilities with a last will, then wait (test helper).",
        shouldDisplay: false
    )

    @Option(help: "Broker address, host:port.")
    var broker: String

    @Option(help: "Device id.")
    var id: String

    @Option(help: "Memory budget for modules, bytes.")
    var memory: Int

    @Option(help: "Compute speed, GFLOP/s.")
    var gflops: Double

    @Option(help: "Topic root.")
    var root: String = Topics.defaultRoot

    func run() async throws {
        let endpoint = try MQTTEndpoint(parsing: broker)
        let topics = Topics(root: root)
        let session = UUID().uuidString.lowercased()
        let now = Int(Date().timeIntervalSince1970 * 1000)
        let will = DeviceState.lastWill(device: id, session: session, timestampMs: now)
        let capabilities = DeviceCapabilities(
            device: id, session: session, memoryBudgetBytes: memory, computeGflops: gflops,
            cores: ProcessInfo.processInfo.activeProcessorCount, sensors: [],
            limits: .init(queueCapacity: 8, inferenceThreads: 1), softwareVersion: "0.0.0", timestampMs: now)
        try will.validate()
        try capabilities.validate()
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(
                endpoints: [endpoint], clientID: "s2m3-device-\(id)",
                will: try MQTTMessage(topic: topics.deviceState(id), control: will, on: topics)),
            logger: Logger(label: "s2m3.device-announce"))
        try await connection.connect()
        try await connection.publish(MQTTMessage(topic: topics.deviceCapabilities(id), control: capabilities, on: topics))
        let online = DeviceState(device: id, status: .online, session: session, timestampMs: now)
        try await connection.publish(MQTTMessage(topic: topics.deviceState(id), control: online, on: topics))
        print("ready")
        fflush(nil)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
