import Foundation
import LocalBroker

/// Runs the built `s2m3` as a child process and collects what it printed (stdout and stderr).
public enum S2M3Run {
    public struct Outcome: Sendable {
        /// Exit status (128 + signal when killed).
        public let status: Int32?
        /// Standard output and standard error, as written.
        public let output: String
    }

    /// `s2m3 arguments…` with `environment` added to this process's, killed after `limit`.
    public static func run(_ arguments: [String], environment: [String: String] = [:], limit: Duration = .seconds(120)) async throws -> Outcome {
        let log = NSTemporaryDirectory() + "s2m3-run-\(getpid())-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, arguments, stdout: .appendToFile(log), stderr: .appendToFile(log), environment: environment)
        let status: Int32?
        do {
            status = try await within(limit, "s2m3 \(arguments.first ?? "") to exit") { await child.waitUntilExit() }
        } catch {
            child.send(SIGKILL)
            await child.waitUntilExit()
            throw error
        }
        let output = FileManager.default.contents(atPath: log).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Outcome(status: status, output: output)
    }

    /// A new empty folder to use as `S2M3_CACHE`, so that `cluster.env` stays private to a test.
    public static func privateCache() throws -> String {
        let path = NSTemporaryDirectory() + "s2m3-test-cache-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
