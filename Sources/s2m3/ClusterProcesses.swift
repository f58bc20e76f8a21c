import Foundation
import LocalBroker

/// The service processes of a local cluster (`s2m3 up`): each a child of this executable in its
/// own process group (a terminal's Ctrl-C reaches only `up`, which then stops them in order), with
/// its output in `<logDirectory>/<name>.log`.
///
/// A watchdog `sh` holds a pipe only this process writes to: if `up` dies without stopping the
/// children (SIGKILL), the pipe closes and the watchdog sends them SIGTERM.
final class ClusterProcesses: @unchecked Sendable {
    struct Member: Sendable {
        let name: String
        let process: ChildProcess
        let logPath: String
    }

    let executable: String
    let logDirectory: String
    private let lock = NSLock()
    private var members: [Member] = []
    private var stopping = false
    private var watchdog: ChildProcess?

    init(executable: String, logDirectory: String) throws {
        self.executable = executable
        self.logDirectory = logDirectory
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    /// The running executable (`/proc/self/exe` resolved), so children are the same build.
    static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    var all: [Member] { lock.withLock { members } }
    var isStopping: Bool { lock.withLock { stopping } }

    /// Starts `s2m3 arguments…` as `name`.
    @discardableResult
    func start(_ name: String, _ arguments: [String]) throws -> Member {
        let log = (logDirectory as NSString).appendingPathComponent("\(name).log")
        let process = try ChildProcess.spawn(
            executable, arguments, stdout: .appendToFile(log), stderr: .appendToFile(log), newProcessGroup: true)
        let member = Member(name: name, process: process, logPath: log)
        lock.withLock { members.append(member) }
        restartWatchdog()
        return member
    }

    /// Waits for the first child (not named in `excluding`) to exit while not stopping; returns it
    /// with its status, or nil when cancelled or stopping.
    func firstUnexpectedExit(excluding: Set<String> = []) async -> (Member, Int32?)? {
        let current = all.filter { !excluding.contains($0.name) }
        guard !current.isEmpty else { return nil }
        return await withTaskGroup(of: (Member, Int32?)?.self) { group in
            for member in current {
                group.addTask {
                    let status = await member.process.waitUntilExit()
                    return Task.isCancelled ? nil : (member, status)
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next, !isStopping { return next }
            }
            return nil
        }
    }

    /// SIGTERM to every child (devices first, planner last: `order` gives the name prefixes in
    /// stopping order), SIGKILL to those still running after `grace`; waits for every exit.
    /// Returns the names that needed SIGKILL.
    @discardableResult
    func stopAll(grace: Duration = .seconds(5)) async -> [String] {
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
    static func logTail(_ path: String, lines: Int = 12) -> String {
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
