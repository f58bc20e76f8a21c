import Foundation
import LocalBroker
import S2M3Core
import TestSupport
import Testing

/// A cluster across hosts on this machine: `scripts/netns-cluster.sh` puts the broker, planner,
/// aggregator, a client and each device in a network namespace of its own (docs/deploy.md). The
/// test talks to it only as a user would: `s2m3 request` and `mosquitto_sub` run in the client's
/// namespace, and the script kills a device's namespace or removes them all.
final class NamespaceCluster: Sendable {
    /// Unique per run (namespaces `NAME-broker`, `NAME-box-1`, …), so a leftover never collides.
    let name: String
    let logs: String
    let devices: [String]
    let delayMs: Double
    let brokerAddress = "10.77.0.1:1883"
    let catalog = TestPaths.repository.appendingPathComponent("catalog/default.json").path
    let models: String
    let executable: String

    static let script = TestPaths.repository.appendingPathComponent("scripts/netns-cluster.sh").path

    /// Why this machine cannot run the cluster (not root, no `ip`, `ip netns add` refused), or nil.
    static func unavailableReason() async -> String? {
        guard getuid() == 0 else { return "network namespaces need root (uid \(getuid()))" }
        guard ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].contains(where: FileManager.default.isExecutableFile) else {
            return "no 'ip' command (Debian package iproute2; scripts/setup.sh installs it)"
        }
        guard let (status, output) = try? await run([script, "check"]) else { return "cannot run \(script)" }
        return status == 0 ? nil : output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `/bin/bash arguments…`; its exit status and standard output (standard error goes to `log`).
    static func run(_ arguments: [String], log: String? = nil) async throws -> (Int32, String) {
        let child = try ChildProcess.spawn(
            "/bin/bash", arguments, stdout: .pipe, stderr: log.map { .appendToFile($0) } ?? .null)
        var output = ""
        for await line in child.outputLines() { output += line + "\n" }
        return (await child.waitUntilExit() ?? -1, output)
    }

    /// Removes the clusters of earlier runs whose process is gone (a crashed or killed test).
    static func pruneLeftovers() async {
        if let (_, output) = try? await run([script, "prune"]) { print(output, terminator: "") }
    }

    /// Makes the namespaces and starts every service (`netns-cluster.sh up`); cleans up if that fails.
    init(devices count: Int, deviceMemory: String, delayMs: Double, rateMbit: Double, models: String) async throws {
        name = "s2m3-" + UUID().uuidString.prefix(6).lowercased()
        logs = NSTemporaryDirectory() + name
        devices = (1...count).map { "box-\($0)" }
        self.delayMs = delayMs
        self.models = models
        executable = try TestPaths.s2m3Executable
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let (status, output) = try await Self.run(
            [Self.script, "up", name, "--devices", String(count), "--device-memory", deviceMemory,
             "--delay-ms", String(format: "%g", delayMs), "--rate-mbit", String(format: "%g", rateMbit), "--device-gflops", "100",
             "--s2m3", executable, "--catalog", catalog, "--models", models, "--logs", logs, "--owner", String(getpid())],
            log: logs + "/netns-cluster.log")
        print(output, terminator: "")
        guard status == 0 else {
            _ = try? await Self.run([Self.script, "down", name])
            throw ClusterTestError("netns-cluster.sh up failed (\(status)):\n\(output)\n\(Self.tail(logs + "/netns-cluster.log"))")
        }
    }

    /// Stops every process of the cluster and deletes its namespaces.
    func down() async {
        let (status, output) = (try? await Self.run([Self.script, "down", name])) ?? (-1, "")
        print(output, terminator: "")
        #expect(status == 0, "netns-cluster.sh down \(name)")
    }

    /// Kills every process in `node`'s namespace (the device agent and its relay).
    func kill(_ node: String) async throws {
        let (status, output) = try await Self.run([Self.script, "kill", name, node])
        print(output, terminator: "")
        guard status == 0 else { throw ClusterTestError("netns-cluster.sh kill \(name) \(node) failed") }
    }

    /// The process ids in `node`'s namespace (`ip netns pids`).
    func processes(in node: String) async throws -> [String] {
        let (_, output) = try await Self.run(["-c", "ip netns pids \"$0\"", "\(name)-\(node)"])
        return output.split(separator: "\n").map(String.init)
    }

    /// `s2m3 request TASK --json ARGUMENTS…` from the client's namespace: the result and the
    /// command's wall time in ms (process start and connection included).
    func request(_ task: String, _ arguments: [String]) async throws -> (TaskResult, Double) {
        let start = ContinuousClock.now
        let (status, output) = try await Self.run(
            [Self.script, "exec", name, "client", executable, "request", task, "--json", "--broker", brokerAddress,
             "--catalog", catalog, "--timeout-ms", "60000"] + arguments,
            log: logs + "/client.log")
        let wall = ContinuousClock.now - start
        guard status == 0 else {
            throw ClusterTestError("s2m3 request \(task) exited \(status):\n\(Self.tail(logs + "/client.log"))")
        }
        let result = try TaskResult(json: Data(output.utf8))
        return (result, Double(wall.components.attoseconds) / 1e15 + Double(wall.components.seconds) * 1000)
    }

    /// Follows the retained plan and every device's telemetry through `mosquitto_sub` in the client's
    /// namespace.
    func watch() throws -> ClusterWatch {
        let topics = Topics()
        let host = brokerAddress.split(separator: ":")
        let child = try ChildProcess.spawn(
            "/bin/bash",
            [Self.script, "exec", name, "client", "mosquitto_sub", "-V", "mqttv5", "-h", String(host[0]), "-p", String(host[1]),
             "-t", topics.plan, "-t", topics.allDeviceTelemetry, "-F", "%t %x"],
            stdout: .pipe, stderr: .appendToFile(logs + "/watch.log"))
        return ClusterWatch(child: child, topics: topics)
    }

    /// The standard output of `command` run in `node`'s namespace.
    func output(in node: String, _ command: [String]) async throws -> String {
        let (status, output) = try await Self.run([Self.script, "exec", name, node] + command)
        guard status == 0 else { throw ClusterTestError("\(command.joined(separator: " ")) in \(node) exited \(status)") }
        return output
    }

    /// The broker's log: which address each client connected from.
    func brokerLog() -> String { (try? String(contentsOfFile: logs + "/mosquitto.log", encoding: .utf8)) ?? "" }

    static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no \(path))"
        return text.split(separator: "\n").suffix(30).joined(separator: "\n")
    }

    /// A folder of links to the set-up's model files: the planner's cost cache and the file
    /// digests' sidecars are written here, never into the shared cache.
    static func modelLinks() throws -> String {
        let source = TestPaths.cache.appendingPathComponent("models").path
        let links = NSTemporaryDirectory() + "s2m3-netns-models"
        let manager = FileManager.default
        try manager.createDirectory(atPath: links, withIntermediateDirectories: true)
        for file in try manager.contentsOfDirectory(atPath: source) where !file.hasPrefix(".") {
            let link = links + "/" + file
            if (try? manager.destinationOfSymbolicLink(atPath: link)) != source + "/" + file {
                try? manager.removeItem(atPath: link)
                try manager.createSymbolicLink(atPath: link, withDestinationPath: source + "/" + file)
            }
        }
        return links
    }
}

/// The plan and the devices' assignment reports as `mosquitto_sub` prints them (`topic hex-payload`).
final class ClusterWatch: Sendable {
    struct State: Sendable {
        var plan: PlanMessage?
        var assignments: [String: DeviceTelemetry.AssignmentReport] = [:]
    }

    /// The latest state, guarded by its lock.
    private final class Box: @unchecked Sendable {
        let lock = NSLock()
        var state = State()
        func withLock<T>(_ body: (inout State) -> T) -> T { lock.withLock { body(&state) } }
    }

    private let child: ChildProcess
    private let state = Box()
    private let reader: Task<Void, Never>

    init(child: ChildProcess, topics: Topics) {
        self.child = child
        let lines = child.outputLines()
        let state = self.state
        reader = Task {
            for await line in lines {
                guard let space = line.firstIndex(of: " ") else { continue }
                let topic = String(line[..<space])
                let payload = Self.bytes(hex: line[line.index(after: space)...])
                guard !payload.isEmpty else { continue }
                if topic == topics.plan, let plan = try? PlanMessage(json: payload) {
                    state.withLock { $0.plan = plan }
                } else if let device = topics.device(fromDeviceTopic: topic), topic == topics.deviceTelemetry(device),
                          let report = try? DeviceTelemetry(json: payload), let assignment = report.assignment {
                    state.withLock { $0.assignments[device] = assignment }
                }
            }
        }
    }

    static func bytes(hex: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in hex {
            guard let nibble = character.hexDigitValue.map(UInt8.init) else { continue }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    /// Waits until a plan of epoch above `after` names exactly `devices` and each of them has
    /// applied it; returns that plan.
    func ready(devices: [String], after epoch: Int = 0, timeout: Duration) async throws -> PlanMessage {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let ready: PlanMessage? = state.withLock { state in
                guard let plan = state.plan, plan.epoch > epoch, Set(plan.devices) == Set(devices),
                      devices.allSatisfy({ state.assignments[$0]?.epoch == plan.epoch && state.assignments[$0]?.status == .applied })
                else { return nil }
                return plan
            }
            if let ready { return ready }
            try await Task.sleep(for: .milliseconds(100))
        }
        let seen = state.withLock { "plan \($0.plan.map { "epoch \($0.epoch) for \($0.devices)" } ?? "none"), assignments \($0.assignments)" }
        throw ClusterTestError("no plan for \(devices) applied by all of them within \(timeout): \(seen)")
    }

    func stop() async {
        child.send(SIGTERM)
        await child.waitUntilExit()
        reader.cancel()
    }
}
