import Foundation
import MQTTBus
import S2M3Core
import TestSupport

/// Waits on the bus until a cluster is ready: a plan names every expected device, and each device's
/// retained state is online and its telemetry reports that plan's assignment applied.
enum ComposeReadiness {
    static func waitForDevices(
        _ devices: [String], endpoint: MQTTEndpoint, timeout: Duration, logs: @escaping @Sendable () -> String
    ) async throws -> PlanMessage {
        try await waitForDevices(devices, broker: MQTTBrokerConfiguration(endpoints: [endpoint]), timeout: timeout, logs: logs)
    }

    /// ``waitForDevices(_:endpoint:timeout:logs:)`` on a broker that may need TLS and a login.
    static func waitForDevices(
        _ devices: [String], broker: MQTTBrokerConfiguration, clientID: String = TestBroker.unique("compose-readiness"),
        timeout: Duration, logs: @escaping @Sendable () -> String
    ) async throws -> PlanMessage {
        let connection = MQTTConnection(configuration: broker.configuration(clientID: clientID), logger: UpCluster.logger)
        try await connection.connect()
        let outcome: Result<PlanMessage, any Error>
        do {
            outcome = .success(try await Self.plan(on: connection, devices, timeout: timeout, logs: logs))
        } catch {
            outcome = .failure(error)
        }
        await connection.disconnect()
        return try outcome.get()
    }

    private static func plan(
        on connection: MQTTConnection, _ devices: [String], timeout: Duration, logs: @escaping @Sendable () -> String
    ) async throws -> PlanMessage {
        let topics = Topics()
        let messages = connection.messages
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.allDeviceStates)
        try await connection.subscribe(topics.allDeviceTelemetry, qos: .atMostOnce)
        let expected = Set(devices)
        do {
            return try await within(timeout, "the plan, and every device online with its assignment applied") {
                var plan: PlanMessage?
                var online: Set<String> = []
                var applied: [String: Int] = [:]
                for await message in messages where !message.payload.isEmpty {
                    if message.topic == topics.plan {
                        plan = try? PlanMessage(json: message.payload)
                    } else if let device = topics.device(fromDeviceTopic: message.topic) {
                        if message.topic == topics.deviceState(device), let state = try? DeviceState(json: message.payload) {
                            if state.status == .online { online.insert(device) } else { online.remove(device) }
                        } else if message.topic == topics.deviceTelemetry(device),
                                  let report = try? DeviceTelemetry(json: message.payload).assignment, report.status == .applied {
                            applied[device] = report.epoch
                        }
                    }
                    if let plan, Set(plan.devices) == expected, expected.isSubset(of: online),
                       expected.allSatisfy({ applied[$0] == plan.epoch }) {
                        return plan
                    }
                }
                throw ClusterTestError("the connection to the broker ended")
            }
        } catch let error as TimedOut {
            throw ClusterTestError("\(error)\n\(logs())")
        }
    }
}
