import Foundation
import S2M3Core
import TestSupport
import Testing

/// Issue 10, item 4: work stops at its deadline. A real agent runs PP-OCR detection on a large page;
/// an invocation whose deadline passes mid-run is answered `deadline-exceeded` well before the
/// model would have finished, and the agent goes on serving.
@Suite("Device agent: deadlines")
struct DeviceAgentDeadlineTests {
    @Test func stopsARunWhoseDeadlinePasses() async throws {
        let catalog = try AgentHarness.catalog()
        let module = "ocr-detect"
        let digest = try #require(catalog.module(module)).digest
        try await AgentHarness.with(device: "box-d", arguments: ["--memory", "2GiB"]) { agent in
            try await agent.assign(epoch: 1, [.init(module: module, digest: digest, memoryBytes: 300_000_000)])
            _ = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            let side = 1_600
            var page = TensorBundle()
            let pixels = (0..<(side * side * 3)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 7) }
            try page.set(BundleTensor(uint8s: pixels, shape: [1, side, side, 3]), named: "page")

            // The whole run, with time to spare: how long the model takes on this page.
            let fullSentMs = AgentHarness.nowMs()
            try await agent.invoke(module, requestID: "full", inputs: page, deadlineMs: fullSentMs + 60_000)
            let full = try await agent.partial("full").0
            // Encoding and sending this page takes a while in a debug build: the deadline below counts from arrival.
            let travelMs = max(0, full.receivedAtMs - fullSentMs)
            #expect(full.status == .ok, "\(full.error ?? "")")
            let runMs = full.computeMs
            try #require(runMs > 400, "the page must take long enough to stop mid-run (took \(runMs) ms)")

            // A deadline a fifth of the way into the run: answered at the deadline, not at the end.
            // (The first run's later deadline left a wake pending: this earlier one must set its own.)
            let sent = ContinuousClock.now
            let deadlineMs = AgentHarness.nowMs() + travelMs * 2 + Int(runMs / 5)
            try await agent.invoke(module, requestID: "short", inputs: page, deadlineMs: deadlineMs)
            let short = try await agent.partial("short").0
            let answeredAfter = AgentHarness.milliseconds(ContinuousClock.now - sent)
            print("ocr-detect on \(side)x\(side): full run \(Int(runMs)) ms, sending \(travelMs) ms; deadline \(deadlineMs - (short.startedAtMs ?? short.receivedAtMs)) ms into the run; answered \(Int(answeredAfter)) ms after sending (\(short.finishedAtMs - deadlineMs) ms past the deadline): \(short.error ?? "")")
            #expect(short.status == .error && short.error?.hasPrefix("deadline-exceeded:") == true, "\(short)")
            #expect(short.startedAtMs != nil, "the run had started: \(short)")
            #expect(answeredAfter < Double(travelMs * 3) + runMs * 0.6, "answered after \(answeredAfter) ms; the run takes \(runMs) ms")
            #expect(short.finishedAtMs - deadlineMs < Int(runMs * 0.4), "\(short.finishedAtMs - deadlineMs) ms past the deadline")

            // The agent goes on serving: the next invocation is computed in full.
            try await agent.invoke(module, requestID: "after", inputs: page, deadlineMs: AgentHarness.nowMs() + 60_000)
            let after = try await agent.partial("after").0
            #expect(after.status == .ok, "\(after.error ?? "")")
            #expect(!agent.child.hasExited)
        }
    }
}

extension AgentHarness {
    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) * 1e-15
    }
}
