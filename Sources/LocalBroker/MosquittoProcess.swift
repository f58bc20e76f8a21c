import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Mosquitto broker run as a child process, for tests, benchmarks and `s2m3 up`.
///
/// ``start(_:)`` writes a config from a template for free loopback ports, launches
/// `mosquitto -c`, and returns once every listener accepts TCP connections. ``stop()`` sends
/// SIGTERM, then SIGKILL after 5 s, and waits. A small watchdog (`sh`, reading a pipe from this
/// process) sends SIGTERM and removes the temporary directory when the pipe closes: on `deinit`
/// without `stop()`, or when this process dies without stopping the broker.
///
/// `@unchecked Sendable`: mutable fields (the current child processes) are guarded by `lock`.
public final class MosquittoProcess: @unchecked Sendable {
    public let configuration: MosquittoProcessConfiguration
    /// Host to connect to (the bind address, or 127.0.0.1).
    public let host: String
    /// One port per listener, in template order.
    public let ports: [Int]
    public let workDirectory: String
    public var configPath: String { workDirectory + "/mosquitto.conf" }
    /// The broker's own log (stdout and stderr).
    public var logPath: String { workDirectory + "/mosquitto.log" }

    /// The first listener's port.
    public var port: Int { ports[0] }

    private let lock = NSLock()
    private var broker: ChildProcess?
    private var watchdog: ChildProcess?
    let ownsWorkDirectory: Bool

    func setBroker(_ process: ChildProcess) { lock.withLock { broker = process } }
    func currentBroker() -> ChildProcess? { lock.withLock { broker } }
    func setWatchdog(_ value: ChildProcess) { lock.withLock { watchdog = value } }
    func takeWatchdog() -> ChildProcess? {
        lock.withLock {
            defer { watchdog = nil }
            return watchdog
        }
    }

    private init(configuration: MosquittoProcessConfiguration, host: String, ports: [Int], workDirectory: String, ownsWorkDirectory: Bool) {
        self.configuration = configuration
        self.host = host
        self.ports = ports
        self.workDirectory = workDirectory
        self.ownsWorkDirectory = ownsWorkDirectory
    }

    deinit {
        // Without waiting; call stop() to wait for the broker to exit.
        releaseChildren()
    }

    /// Starts a broker and waits until it accepts connections.
    public static func start(_ configuration: MosquittoProcessConfiguration) async throws -> MosquittoProcess {
        let template = try MosquittoConfigTemplate(path: configuration.template)
        let executable = try findExecutable(configuration.executable)
        let workDirectory: String
        let owns: Bool
        if let given = configuration.workDirectory {
            workDirectory = given
            owns = false
        } else {
            workDirectory = try makeTemporaryDirectory()
            owns = true
        }
        do {
            try FileManager.default.createDirectory(atPath: workDirectory + "/data", withIntermediateDirectories: true)
        } catch {
            throw LocalBrokerError(.io, "cannot create '\(workDirectory)/data': \(error)")
        }
        var lastError: Error?
        // A free port can be taken between probing and binding; retry with new ones.
        for attempt in 0..<3 {
            let ports: [Int]
            if !configuration.ports.isEmpty {
                ports = configuration.ports
            } else if attempt == 0, configuration.preferTemplatePorts, template.listenerPorts.count == template.listenerCount,
                      template.listenerPorts.allSatisfy({ isFree(port: $0, host: configuration.bindAddress ?? "127.0.0.1") }) {
                ports = template.listenerPorts
            } else {
                ports = try (0..<template.listenerCount).map { _ in try freePort() }
            }
            guard ports.count == template.listenerCount else {
                throw LocalBrokerError(.badTemplate, "\(template.listenerCount) listeners but \(ports.count) ports given")
            }
            let broker = MosquittoProcess(
                configuration: configuration,
                host: configuration.bindAddress ?? "127.0.0.1",
                ports: ports,
                workDirectory: workDirectory,
                ownsWorkDirectory: owns
            )
            let text = template.render(
                ports: ports,
                bindAddress: configuration.bindAddress,
                workDirectory: workDirectory,
                secretsDirectory: configuration.secretsDirectory ?? template.templateDirectory + "/secrets",
                runAsRoot: geteuid() == 0,
                extraLines: configuration.extraLines
            )
            do {
                try text.write(toFile: broker.configPath, atomically: true, encoding: .utf8)
            } catch {
                throw LocalBrokerError(.io, "cannot write '\(broker.configPath)': \(error)")
            }
            do {
                try await broker.launch(executable: executable)
                return broker
            } catch let error as LocalBrokerError where error.code == .startFailed && error.message.contains("in use") && configuration.ports.isEmpty {
                lastError = error
                continue
            } catch {
                if owns { try? FileManager.default.removeItem(atPath: workDirectory) }
                throw error
            }
        }
        if owns { try? FileManager.default.removeItem(atPath: workDirectory) }
        throw lastError ?? LocalBrokerError(.startFailed, "could not start mosquitto")
    }

    /// Runs `body` with a started broker and stops the broker afterwards, also when `body` throws.
    public static func withRunning<T>(
        _ configuration: MosquittoProcessConfiguration,
        _ body: (MosquittoProcess) async throws -> T
    ) async throws -> T {
        let broker = try await start(configuration)
        do {
            let result = try await body(broker)
            await broker.stop()
            return result
        } catch {
            await broker.stop()
            throw error
        }
    }

    /// Stops the broker (if running) and starts it again on the same ports with the same
    /// persistence, e.g. to test reconnection. Sessions survive (SIGTERM saves them).
    public func restart() async throws {
        await terminateBroker()
        try await launch(executable: try Self.findExecutable(configuration.executable))
    }

    /// Stops the broker like ``stop()`` (SIGTERM saves sessions) but keeps the work directory, so
    /// that ``restart()`` brings it back with its sessions and retained messages.
    public func terminate() async { await terminateBroker() }

    /// SIGTERM, then SIGKILL after 5 s; waits for the exit and removes a temporary work directory.
    public func stop() async {
        await terminateBroker()
        if ownsWorkDirectory { try? FileManager.default.removeItem(atPath: workDirectory) }
    }

    /// SIGKILL at once, without saving sessions (simulates a crash).
    public func kill() async {
        killWatchdog()
        guard let process = currentBroker() else { return }
        process.send(SIGKILL)
        await process.waitUntilExit()
    }

    /// The broker's process id, while it runs.
    public var processIdentifier: Int32? {
        guard let process = currentBroker(), !process.hasExited else { return nil }
        return process.processIdentifier
    }

    /// The last `count` lines of the broker's log.
    public func logTail(_ count: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// Waits until the broker exits (by itself or by stop()); returns its exit status, or `nil`
    /// if the waiting task is cancelled first.
    public func waitUntilExit() async -> Int32? {
        guard let process = currentBroker() else { return 0 }
        return await process.waitUntilExit()
    }
}
