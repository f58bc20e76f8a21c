import Foundation
import LocalBroker
import MQTTBus
import Testing

/// `s2m3 up` as a real process: it starts a broker, serves, and stops it on SIGTERM; if it is
/// killed, the LocalBroker watchdog stops the broker.
@Suite("s2m3 up")
struct UpCommandTests {
    /// Starts `s2m3 up` and returns it with the broker endpoint it printed.
    private func startUp() async throws -> (ChildProcess, MQTTEndpoint) {
        let child = try ChildProcess.spawn(try BusTest.s2m3Executable, ["up"], stdout: .pipe, stderr: .null)
        let lines = child.outputLines()
        let address = try await within(.seconds(30), "s2m3 up to print the broker address") {
            for await line in lines where line.hasPrefix("broker: mqtt://") {
                return String(line.dropFirst("broker: mqtt://".count).prefix { $0 != " " })
            }
            return ""
        }
        return (child, try MQTTEndpoint(parsing: address))
    }

    private func accepts(_ endpoint: MQTTEndpoint) async -> Bool {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: BusTest.unique("up-probe"), connectTimeout: .seconds(1)),
            logger: BusTest.logger
        )
        let connected: Bool
        do {
            try await connection.connect()
            connected = true
        } catch {
            connected = false
        }
        await connection.disconnect()
        return connected
    }

    @Test func servesUntilSIGTERMThenStopsTheBroker() async throws {
        let (child, endpoint) = try await startUp()
        #expect(await accepts(endpoint))
        child.send(SIGTERM)
        #expect(await child.waitUntilExit() == 0)
        #expect(!(await accepts(endpoint)))
    }

    @Test func watchdogStopsTheBrokerWhenUpIsKilled() async throws {
        let (child, endpoint) = try await startUp()
        #expect(await accepts(endpoint))
        child.send(SIGKILL)
        await child.waitUntilExit()
        let gone = try await within(.seconds(10), "the orphaned broker to stop") {
            while await accepts(endpoint) { try await Task.sleep(for: .milliseconds(20)) }
            return true
        }
        #expect(gone)
    }
}
