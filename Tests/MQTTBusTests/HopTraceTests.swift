import Foundation
import Testing

@testable import MQTTBus

/// The marks `S2M3_HOP_TRACE` writes for scripts/bench/hop-trace.py: one line per mark, in order,
/// with the monotonic time, in a file named after the process's role.
@Suite("Hop trace")
struct HopTraceTests {
    @Test func marksAreAppendedInOrderAtEachFlush() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("s2m3-hop-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // The folder the variable names need not exist yet.
        let path = folder.appendingPathComponent("not-yet/device-box-1.trace").path
        let recorder = HopTrace.Recorder(path: path)
        recorder.mark("rx s2m3/v1/modules/top-k/box-1/invoke")
        recorder.mark("device.receive")
        recorder.flush()
        recorder.mark("device.answer")
        recorder.flush()
        recorder.flush()  // nothing pending: nothing written

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let parsed = lines.map { line -> (UInt64, String) in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (UInt64(parts[0]) ?? 0, parts.count > 1 ? String(parts[1]) : "")
        }
        #expect(parsed.map(\.1) == ["rx s2m3/v1/modules/top-k/box-1/invoke", "device.receive", "device.answer"])
        #expect(parsed.allSatisfy { $0.0 > 0 })
        #expect(zip(parsed, parsed.dropFirst()).allSatisfy { $0.0 <= $1.0 }, "times never go back: \(parsed.map(\.0))")
    }

    @Test func filesAreNamedAfterTheCommandAndItsID() {
        #expect(HopTrace.processName(["/usr/bin/s2m3", "device", "--id", "box-1", "--broker", "h:1883"]) == "device-box-1")
        #expect(HopTrace.processName(["s2m3", "aggregator", "--broker", "h:1883", "--id", "agg-1"]) == "aggregator-agg-1")
        #expect(HopTrace.processName(["s2m3", "planner"]) == "planner-\(getpid())")
        #expect(HopTrace.processName(["s2m3", "device", "--id", "../../etc/x y"]) == "device-.._.._etc_x_y")
        #expect(HopTrace.processName(["s2m3", "device", "--id"]) == "device-\(getpid())")
    }

    @Test func offWithoutTheEnvironmentVariable() {
        #expect(ProcessInfo.processInfo.environment["S2M3_HOP_TRACE"] == nil)
        #expect(!HopTrace.isOn)
        HopTrace.mark("not recorded")
    }
}
