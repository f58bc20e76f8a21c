import ArgumentParser
import Dispatch
import Foundation
import LocalBroker
import MQTTBus

/// `s2m3 up`: the embedded default, a local cluster on this machine. For now: a Mosquitto broker
/// from `broker-config/dev.conf` on a free loopback port (or an existing broker given with
/// `--broker`), served until Ctrl-C or SIGTERM, then stopped cleanly.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local cluster: a Mosquitto broker and the S2M3 services, until Ctrl-C."
    )

    @Option(help: "Use this running broker (host:port) instead of starting one.")
    var broker: String?

    @Option(help: "Broker config template to start (default: broker-config/dev.conf).")
    var brokerConfig: String?

    @Option(help: "Port for the started broker (default: a free port).")
    var port: Int?

    func run() async throws {
        let signals = ShutdownSignals()
        if let broker {
            let endpoint = try MQTTEndpoint(parsing: broker)
            print("broker: mqtt://\(endpoint) (external)")
            print("Ctrl-C stops S2M3.")
            let signal = await signals.next()
            print("s2m3 up: \(signal), stopping")
            return
        }

        let template = try brokerConfig ?? BrokerConfigLocator.find("dev.conf")
        var configuration = MosquittoProcessConfiguration(template: template)
        if let port { configuration.ports = [port] }
        let mosquitto = try await MosquittoProcess.start(configuration)
        print("broker: mqtt://\(mosquitto.host):\(mosquitto.port) (Mosquitto, log \(mosquitto.logPath))")
        print("Ctrl-C stops S2M3.")
        fflush(nil)

        enum Ending: Sendable { case signal(String), brokerExited(Int32?) }
        let ending = await withTaskGroup(of: Ending.self) { group in
            group.addTask { .signal(await signals.next()) }
            group.addTask { .brokerExited(await mosquitto.waitUntilExit()) }
            defer { group.cancelAll() }
            return await group.next()!
        }
        switch ending {
        case let .signal(name):
            print("s2m3 up: \(name), stopping the broker")
            await mosquitto.stop()
        case let .brokerExited(status):
            let log = mosquitto.logTail()
            await mosquitto.stop()
            throw ValidationError("the broker exited unexpectedly (status \(status ?? -1)); its log:\n\(log)")
        }
    }
}

/// Finds a file in `broker-config/`: `$S2M3_BROKER_CONFIG_DIR`, then the current directory and its
/// parents, then the directories above the executable (a `.build/…/s2m3` inside the repository).
enum BrokerConfigLocator {
    static func find(_ name: String) throws -> String {
        var candidates: [String] = []
        if let dir = ProcessInfo.processInfo.environment["S2M3_BROKER_CONFIG_DIR"] { candidates.append(dir) }
        for start in [FileManager.default.currentDirectoryPath, executableDirectory()] {
            var url = URL(fileURLWithPath: start)
            for _ in 0..<6 {
                candidates.append(url.appendingPathComponent("broker-config").path)
                url.deleteLastPathComponent()
            }
        }
        for dir in candidates where FileManager.default.fileExists(atPath: dir + "/" + name) {
            return dir + "/" + name
        }
        throw ValidationError("cannot find broker-config/\(name); run from the S2M3 repository, or pass --broker-config or set S2M3_BROKER_CONFIG_DIR")
    }

    private static func executableDirectory() -> String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent().path
    }
}

/// SIGINT and SIGTERM as an awaitable event (the default actions are disabled while it lives).
final class ShutdownSignals: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let stream: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        self.stream = stream
        sources = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")].map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            return source
        }
    }

    deinit { sources.forEach { $0.cancel() } }

    /// The name of the next signal received.
    func next() async -> String {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next() ?? "end"
    }
}
