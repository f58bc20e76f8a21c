import Aggregator
import Catalog
import Foundation
import S2M3Core
import Testing

/// Each task of a stream paced on its own (docs/streams.md "Keeping up"): a slow task never holds
/// back a fast one on the same source. Pure; devices answered by ``AggregatorFixture``, the slow
/// task's Whisper invocations held back to make it slow.
@Suite("Streams: a slow task never holds back a fast one")
struct StreamPacingTests {
    /// 0.1 s of silence, 16 kHz mono 16-bit PCM.
    static let wav: [UInt8] = {
        func le(_ value: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let data = [UInt8](repeating: 0, count: 3_200)
        return Array("RIFF".utf8) + le(36 + data.count, 4) + Array("WAVEfmt ".utf8) + le(16, 4) + le(1, 2) + le(1, 2)
            + le(16_000, 4) + le(32_000, 4) + le(2, 2) + le(16, 2) + Array("data".utf8) + le(data.count, 4) + data
    }()

    static let fastAndSlow = StreamSubscription(source: "cam-1", tasks: [
        .init(task: "classify-image"),
        .init(task: "describe-scene", inputs: ["audio": .media(contentType: MediaType.wav, bytes: wav)]),
    ])

    static func isSlow(_ action: AggregatorAction) -> Bool {
        guard case .invoke(let invocation) = action else { return false }
        return invocation.request.module.hasPrefix("whisper")
    }

    /// Answers every invocation (and those they lead to) except the slow task's Whisper ones,
    /// which are returned held.
    static func answerFast(_ machine: inout AggregatorStateMachine, _ actions: [AggregatorAction], nowMs: Double) -> (out: [AggregatorAction], held: [AggregatorAction]) {
        var queue = actions, out: [AggregatorAction] = [], held: [AggregatorAction] = []
        while !queue.isEmpty {
            let action = queue.removeFirst()
            guard !isSlow(action) else { held.append(action); continue }
            out.append(action)
            guard case .invoke(let invocation) = action else { continue }
            let (partial, bundle) = AggregatorFixture.answer(invocation, nowMs: Int(nowMs))
            queue += machine.receivePartial(partial, outputs: try! TensorBundle(decoding: bundle.encoded()), nowMs: nowMs)
        }
        return (out, held)
    }

    /// A slow and a fast task on one source: while the slow one still runs frame 0, frames 1 and 2
    /// start at once for the fast one and get its results; the slow one skips them (`busy`). Once
    /// it is free, the next frame runs both together again, the shared nodes once.
    @Test func fastTaskIsNotHeldBackBySlowOne() throws {
        var machine = try StreamSessionTests.machine(Self.fastAndSlow)
        var (out, held) = Self.answerFast(&machine, StreamSessionTests.frame(&machine, sequence: 0, nowMs: 1_000), nowMs: 1_010)
        #expect(StreamSessionTests.results(out).map(\.task) == ["classify-image"], "the fast task's result does not wait")
        #expect(!held.isEmpty, "the slow task's Whisper invocations are out")
        for sequence in 1...2 {
            let started = StreamSessionTests.frame(&machine, sequence: sequence, nowMs: 1_000 + 100 * Double(sequence))
            #expect(!started.isEmpty, "frame \(sequence) starts at once for the free fast task")
            #expect(!started.contains(where: Self.isSlow))
            let step = Self.answerFast(&machine, started, nowMs: 1_010 + 100 * Double(sequence))
            #expect(step.held.isEmpty, "the busy slow task does not run frame \(sequence)")
            out += step.out
        }
        let fast = StreamSessionTests.results(out)
        #expect(fast.map(\.task) == Array(repeating: "classify-image", count: 3))
        #expect(fast.compactMap { $0.frame?.sequence } == [0, 1, 2], "the fast task ran every frame while the slow one was busy")
        // The slow task's frame 0 ends.
        let (_, slowOut) = StreamSessionTests.answerAll(&machine, held, nowMs: 1_500)
        let slow = StreamSessionTests.results(slowOut)
        #expect(slow.map(\.task) == ["describe-scene"])
        #expect(slow.first?.frame?.sequence == 0)
        #expect(slow.first?.timeline.first { $0.node == "trunk" }?.sharedWith == ["classify-image"], "frame 0 ran both together")
        // Both free: frame 3 runs both as one graph, the trunk once.
        let (invoked, both) = StreamSessionTests.answerAll(&machine, StreamSessionTests.frame(&machine, sequence: 3, nowMs: 1_600), nowMs: 1_610)
        #expect(invoked.filter { $0 == "effnet-lite0-trunk" }.count == 1)
        #expect(StreamSessionTests.results(both).map(\.task).sorted() == ["classify-image", "describe-scene"])

        let telemetry = try #require(machine.streamTelemetry(nowMs: 1_700).first)
        try telemetry.validate()
        #expect(telemetry.framesIn == 4)
        #expect(telemetry.framesProcessed == 4)
        #expect(telemetry.drops.isEmpty)
        let classify = try #require(telemetry.tasks["classify-image"])
        let describe = try #require(telemetry.tasks["describe-scene"])
        #expect((classify.framesIn, classify.framesProcessed, classify.results, classify.skipped) == (4, 4, 4, [:]))
        #expect((describe.framesIn, describe.framesProcessed, describe.results, describe.skipped) == (4, 2, 2, ["busy": 2]))
    }

    /// Every task busy: the latest frame waits and starts when the FIRST task is free, for the free
    /// tasks only; the per-task and per-frame counts add up.
    @Test func waitingFrameStartsForTheFirstFreeTask() throws {
        var machine = try StreamSessionTests.machine(Self.fastAndSlow)
        let first = StreamSessionTests.frame(&machine, sequence: 0, nowMs: 1_000)
        #expect(StreamSessionTests.frame(&machine, sequence: 1, nowMs: 1_001).isEmpty, "both busy: frame 1 waits")
        #expect(StreamSessionTests.frame(&machine, sequence: 2, nowMs: 1_002).isEmpty, "frame 2 replaces it")
        let (out, held) = Self.answerFast(&machine, first, nowMs: 1_010)
        let fast = StreamSessionTests.results(out)
        #expect(fast.compactMap { $0.frame?.sequence } == [0, 2], "frame 2 started when the fast task was free, not when both were")
        _ = StreamSessionTests.answerAll(&machine, held, nowMs: 1_500)
        let telemetry = try #require(machine.streamTelemetry(nowMs: 1_600).first)
        #expect(telemetry.drops == ["superseded": 1])
        #expect(telemetry.framesIn == telemetry.framesProcessed + 1)
        for (task, figures) in telemetry.tasks {
            #expect(figures.framesIn == figures.framesProcessed + figures.skipped.values.reduce(0, +), "\(task): \(figures)")
        }
        #expect(telemetry.tasks["describe-scene"]?.skipped == ["superseded": 1, "busy": 1])
        #expect(telemetry.tasks["classify-image"]?.skipped == ["superseded": 1])
    }

    static func trunks(_ actions: [AggregatorAction]) -> Int {
        actions.filter { if case .invoke(let invocation) = $0 { invocation.request.module == "effnet-lite0-trunk" } else { false } }.count
    }

    /// Answers every invocation except `module`'s, which are returned held.
    static func answer(_ machine: inout AggregatorStateMachine, _ actions: [AggregatorAction], holding module: String, nowMs: Double) -> (out: [AggregatorAction], held: [AggregatorAction]) {
        var queue = actions, out: [AggregatorAction] = [], held: [AggregatorAction] = []
        while !queue.isEmpty {
            let action = queue.removeFirst()
            if case .invoke(let invocation) = action, invocation.request.module == module { held.append(action); continue }
            out.append(action)
            guard case .invoke(let invocation) = action else { continue }
            let (partial, bundle) = AggregatorFixture.answer(invocation, nowMs: Int(nowMs))
            queue += machine.receivePartial(partial, outputs: try! TensorBundle(decoding: bundle.encoded()), nowMs: nowMs)
        }
        return (out, held)
    }

    /// Two tasks of similar speed: when one is free a little before the other, the waiting frame
    /// waits for it (a quarter of the usual run time at most) so both run it together, the trunk
    /// once; when the other is later than that, the free one starts without it.
    @Test func similarTasksKeepRunningTogether() throws {
        var machine = try StreamSessionTests.machine()
        // Frame 0 teaches the usual run time: 100 ms for both.
        _ = StreamSessionTests.answerAll(&machine, StreamSessionTests.frame(&machine, sequence: 0, nowMs: 1_000), nowMs: 1_100)
        // Frame 1: classify-image is done at 1300, match-image-text (its label-bridge) at 1310.
        let first = StreamSessionTests.frame(&machine, sequence: 1, nowMs: 1_200)
        #expect(StreamSessionTests.frame(&machine, sequence: 2, nowMs: 1_250).isEmpty, "both busy: frame 2 waits")
        let (done, held) = Self.answer(&machine, first, holding: "label-bridge", nowMs: 1_300)
        #expect(StreamSessionTests.results(done).map(\.task) == ["classify-image"])
        #expect(Self.trunks(done) == 1, "only frame 1's trunk: frame 2 waits for match-image-text, due by 1325")
        #expect(machine.tick(nowMs: 1_305).isEmpty)
        let (invoked, both) = StreamSessionTests.answerAll(&machine, held, nowMs: 1_310)
        #expect(invoked.filter { $0 == "effnet-lite0-trunk" }.count == 1, "frame 2 ran once for both")
        let results = StreamSessionTests.results(both)
        #expect(results.filter { $0.frame?.sequence == 2 }.map(\.task).sorted() == ["classify-image", "match-image-text"])

        // Frame 3 runs both; match-image-text is late beyond the hold: frame 4 starts without it.
        let third = StreamSessionTests.frame(&machine, sequence: 3, nowMs: 1_400)
        #expect(StreamSessionTests.frame(&machine, sequence: 4, nowMs: 1_450).isEmpty)
        let (late, lateHeld) = Self.answer(&machine, third, holding: "label-bridge", nowMs: 1_500)
        #expect(StreamSessionTests.results(late).map(\.task) == ["classify-image"])
        #expect(Self.trunks(late) == 1, "only frame 3's trunk")
        #expect(machine.tick(nowMs: 1_520).isEmpty, "within the hold")
        let ticked = machine.tick(nowMs: 1_530)
        #expect(!ticked.isEmpty, "past the hold, frame 4 starts for classify-image alone")
        let (_, fourth) = StreamSessionTests.answerAll(&machine, ticked + lateHeld, nowMs: 1_540)
        #expect(Set(StreamSessionTests.results(fourth).map { "\($0.task)@\($0.frame?.sequence ?? -1)" }) == ["classify-image@4", "match-image-text@3"])
        let telemetry = try #require(machine.streamTelemetry(nowMs: 1_600).first)
        #expect(telemetry.tasks["match-image-text"]?.skipped == ["busy": 1])
        #expect(telemetry.framesIn == telemetry.framesProcessed)
    }
}
