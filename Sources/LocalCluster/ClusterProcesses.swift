import Foundation
import LocalBroker

#if canImport(Glibc)
import Glibc
#endif

/// The service processes of a local cluster (``RunningCluster``, `s2m3 bench cluster`): each a child of this executable in its
/// own process group (a terminal's Ctrl-C reaches only `up`, which then stops them in order), with
/// its output in `<logDirectory>/<name>.log`.
///
/// A watchdog `sh` holds a pipe only this process writes to: if `up` dies without stopping the
/// children (SIGKILL), the pipe closes and the watchdog sends them SIGTERM.
public final class ClusterProcesses: @unchecked Sendable {
    public struct Member: Sendable {
        public let name: String
        public let process: ChildProcess
        public let logPath: String
        /// What it was started with (a restart uses the same).
        public let arguments: [String]
    }

    public let executable: String
    public let logDirectory: String
    private let lock = NSLock()
    private var members: [Member] = []
    private var stopping = false
    private var watchdog: ChildProcess?

    public init(executable: String, logDirectory: String) throws {
        self.executable = executable
        self.logDirectory = logDirectory
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    /// The running executable (`/proc/self/exe` resolved), so children are the same build.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public var all: [Member] { lock.withLock { members } }
    public var isStopping: Bool { lock.withLock { stopping } }

    /// The current process of `name` (a restart replaces it).
    public func member(_ name: String) -> Member? { lock.withLock { members.first { $0.name == name } } }

    /// Starts `s2m3 arguments…` as `name`.
    @discardableResult
    public func start(_ name: String, _ arguments: [String]) throws -> Member {
        let log = (logDirectory as NSString).appendingPathComponent("\(name).log")
        let process = try ChildProcess.spawn(
            executable, arguments, stdout: .appendToFile(log), stderr: .appendToFile(log), newProcessGroup: true)
        let member = Member(name: name, process: process, logPath: log, arguments: arguments)
        lock.withLock { members.append(member) }
        restartWatchdog()
        return member
    }

    /// Starts `name` again with its arguments (its log continues), unless stopping; nil then.
    public func restart(_ name: String) throws -> Member? {
        guard let old = member(name), !isStopping else { return nil }
        let process = try ChildProcess.spawn(
            executable, old.arguments, stdout: .appendToFile(old.logPath), stderr: .appendToFile(old.logPath), newProcessGroup: true)
        let member = Member(name: name, process: process, logPath: old.logPath, arguments: old.arguments)
        let replaced: Bool = lock.withLock {
            guard !stopping, let index = members.firstIndex(where: { $0.name == name }) else { return false }
            members[index] = member
            return true
        }
        guard replaced else {
            process.send(SIGKILL)
            return nil
        }
        restartWatchdog()
        return member
    }

    /// SIGTERM to every child (devices first, planner last: `order` gives the name prefixes in
    /// stopping order), SIGKILL to those still running after `grace`; waits for every exit.
    /// Returns the names that needed SIGKILL.
    @discardableResult
    public func stopAll(grace: Duration = .seconds(5)) async -> [String] {
        let current: [Member] = lock.withLock {
            stopping = true
            return members.reversed()
        }
        killWatchdog()
        for member in current { member.process.send(SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while current.contains(where: { !$0.process.hasExited }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var killed: [String] = []
        for member in current where !member.process.hasExited {
            member.process.send(SIGKILL)
            killed.append(member.name)
        }
        for member in current { await member.process.waitUntilExit() }
        return killed
    }

    /// The last lines of a child's log.
    public static func logTail(_ path: String, lines: Int = 12) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .suffix(lines).joined(separator: "\n")
    }

    // MARK: watchdog

    private func restartWatchdog() {
        killWatchdog()
        let pids = all.map { String($0.process.processIdentifier) }
        let script = "read line; kill -TERM \"$@\" 2>/dev/null; sleep 5; kill -KILL \"$@\" 2>/dev/null; exit 0"
        let dog = try? ChildProcess.spawn(
            "/bin/sh", ["-c", script, "s2m3-up-watchdog"] + pids, stdin: .pipe, stdout: .null, stderr: .null,
            newProcessGroup: true)
        lock.withLock { watchdog = dog }
    }

    private func killWatchdog() {
        let dog: ChildProcess? = lock.withLock {
            defer { watchdog = nil }
            return watchdog
        }
        guard let dog else { return }
        dog.send(SIGKILL)
        try? dog.standardInput?.close()
    }
}
