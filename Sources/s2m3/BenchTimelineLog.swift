import ArgumentParser
import Foundation
import S2M3Core

/// `s2m3 bench cluster --timelines FILE`: every timed answer as one JSON line, with its timeline
/// (which device ran each module, queue wait, compute, time on the bus): the latency rounds' (run
/// `latency: MODE`) to see where one request's time goes (`scripts/bench/hops.py`), the
/// throughput runs' to see where a loaded cluster's goes (`scripts/bench/timelines.py`).
final class BenchTimelineLog: @unchecked Sendable {
    /// One answer: the run it came from, when it completed, and its timeline.
    struct Line: Encodable {
        var run: String
        var task: String
        /// Unix ms when the aggregator (or `serve`) completed it.
        var completedAtMs: Double
        var totalMs: Double
        /// Send → result at the client, ms.
        var clientMs: Double
        var timeline: [TaskTimelineEntry]
    }

    private let lock = NSLock()
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    /// Creates (or empties) `path`.
    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("--timelines: cannot create '\(path)'")
        }
        self.handle = handle
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    func append(run: String, task: String, result: TaskResult, clientMs: Double) {
        let line = Line(
            run: run, task: task, completedAtMs: Double(result.completedAtMs), totalMs: result.totalMs, clientMs: clientMs,
            timeline: result.timeline)
        guard var data = try? encoder.encode(line) else { return }
        data.append(UInt8(ascii: "\n"))
        lock.withLock { handle.write(data) }
    }
}
