import Aggregator
import Catalog
import Foundation
import S2M3Core
import Testing

/// Streams in the aggregator's state machine (pure; devices answered by ``AggregatorFixture``).
@Suite("Streams: merged frames, latest frame wins, subscriptions and source ends")
struct StreamSessionTests {
    static let classifyAndMatch = StreamSubscription(source: "cam-1", tasks: [
        .init(task: "classify-image"),
        .init(task: "match-image-text", inputs: ["texts": .texts(["a cat", "a dog"])]),
    ])

    static func machine(_ subscription: StreamSubscription = classifyAndMatch) throws -> AggregatorStateMachine {
        var machine = try AggregatorStateMachine(configuration: AggregatorFixture.configuration(), catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        let actions = machine.receiveSubscription("line-3", payload: try subscription.jsonBytes(), nowMs: 0)
        #expect(actions.isEmpty, "a good subscription is taken silently: \(actions)")
        return machine
    }

    static func frame(_ machine: inout AggregatorStateMachine, sequence: Int, nowMs: Double, lifeMs: Int = 2_000) -> [AggregatorAction] {
        let properties = StreamFrame.properties(contentType: MediaType.jpeg, sequence: sequence, capturedMs: Int(nowMs), lifeMs: lifeMs)
        return machine.receiveFrame(source: "cam-1", payload: AggregatorFixture.jpeg, properties: properties, nowMs: nowMs)
    }

    /// Answers every invocation (and those they lead to) at `nowMs`; returns all that came out.
    static func answerAll(_ machine: inout AggregatorStateMachine, _ actions: [AggregatorAction], nowMs: Double) -> (invoked: [String], out: [AggregatorAction]) {
        var queue = actions, invoked: [String] = [], out: [AggregatorAction] = []
        while !queue.isEmpty {
            let action = queue.removeFirst()
            out.append(action)
            guard case .invoke(let invocation) = action else { continue }
            invoked.append(invocation.request.module)
            let (partial, bundle) = AggregatorFixture.answer(invocation, nowMs: Int(nowMs))
            queue += machine.receivePartial(partial, outputs: try! TensorBundle(decoding: bundle.encoded()), nowMs: nowMs)
        }
        return (invoked, out)
    }

    static func results(_ actions: [AggregatorAction]) -> [TaskResult] {
        actions.compactMap { if case .streamResult(let result) = $0 { return result } else { return nil } }
    }

    /// One frame, two tasks: the image branch runs once, each task gets one result naming the frame
    /// and the nodes it shared.
    @Test func oneFrameRunsSharedNodesOnce() throws {
        var machine = try Self.machine()
        let (invoked, out) = Self.answerAll(&machine, Self.frame(&machine, sequence: 7, nowMs: 1_000), nowMs: 1_010)
        #expect(invoked.filter { $0 == "effnet-lite0-trunk" }.count == 1)
        #expect(invoked.filter { $0 == "image-preprocess" }.count == 1)
        let results = Self.results(out)
        #expect(results.map(\.task).sorted() == ["classify-image", "match-image-text"])
        for result in results {
            #expect(result.frame == StreamFrameReference(source: "cam-1", sequence: 7, capturedMs: 1_000))
            #expect(result.requestID == "cam-1-7")
            let trunk = try #require(result.timeline.first { $0.node == "trunk" })
            #expect(trunk.sharedWith?.count == 1)
            try result.validate()
        }
        let classify = try #require(results.first { $0.task == "classify-image" })
        #expect(classify.timeline.map(\.node) == ["pixels", "trunk", "logits", "top"])
        #expect(machine.statistics.droppedPartials == 0)
    }

    /// Frames arriving while one runs: only the newest waits; the others are dropped (superseded)
    /// and counted, so dropped + processed = sent.
    @Test func latestFrameWins() throws {
        var machine = try Self.machine()
        let first = Self.frame(&machine, sequence: 0, nowMs: 1_000)
        #expect(!first.isEmpty)
        for sequence in 1...3 { #expect(Self.frame(&machine, sequence: sequence, nowMs: 1_000 + Double(sequence)).isEmpty) }
        let (_, out) = Self.answerAll(&machine, first, nowMs: 1_050)
        let done = Self.results(out)
        #expect(Set(done.compactMap { $0.frame?.sequence }) == [0, 3], "frame 3 started when 0 ended: \(done.map(\.requestID))")
        let telemetry = try #require(machine.streamTelemetry(nowMs: 1_100).first)
        #expect(telemetry.framesIn == 4)
        #expect(telemetry.framesProcessed == 2)
        #expect(telemetry.drops == ["superseded": 2])
        #expect(telemetry.tasks["classify-image"]?.results == 2)
        try telemetry.validate()
    }

    /// An expired frame and a frame whose bytes are not its content type are dropped, counted.
    @Test func expiredAndBadFramesAreDropped() throws {
        var machine = try Self.machine()
        let running = Self.frame(&machine, sequence: 0, nowMs: 1_000)
        _ = Self.frame(&machine, sequence: 1, nowMs: 1_001, lifeMs: 1_000)
        // Frame 1 waits past its life (1 s): when frame 0 ends at 3 s it is dropped, not run.
        let (_, out) = Self.answerAll(&machine, running, nowMs: 3_000)
        #expect(Set(Self.results(out).compactMap { $0.frame?.sequence }) == [0])
        let png = StreamFrame.properties(contentType: MediaType.png, sequence: 5, capturedMs: 3_000, lifeMs: 1_000)
        let bad = machine.receiveFrame(source: "cam-1", payload: AggregatorFixture.jpeg, properties: png, nowMs: 3_000)
        guard case .error(let error, _, _) = try #require(bad.first) else { Issue.record("not an error: \(bad)"); return }
        #expect(error.code == .badInput)
        let telemetry = try #require(machine.streamTelemetry(nowMs: 3_100).first)
        #expect(telemetry.drops["expired"] == 1)
        #expect(telemetry.drops["bad-frame"] == 1)
        #expect(telemetry.drops["gap"] == 3, "sequence 2–4 never arrived")
    }

    /// Clearing the subscription stops its results, even of the frame in flight.
    @Test func removedSubscriptionStopsResults() throws {
        var machine = try Self.machine()
        let running = Self.frame(&machine, sequence: 0, nowMs: 1_000)
        #expect(machine.receiveSubscription("line-3", payload: [], nowMs: 1_001).isEmpty)
        let (_, out) = Self.answerAll(&machine, running, nowMs: 1_010)
        #expect(Self.results(out).isEmpty)
        #expect(Self.frame(&machine, sequence: 1, nowMs: 1_020).isEmpty, "no subscription, no work")
        #expect(machine.streamSources.isEmpty)
    }

    /// A stream that ends and starts again never reuses an execution id: devices drop an
    /// invocation whose (request id, node, attempt) they saw before.
    @Test func executionIDsNeverRepeatAcrossSessions() throws {
        var machine = try Self.machine()
        func ids(_ actions: [AggregatorAction]) -> Set<String> {
            Set(actions.compactMap { if case .invoke(let invocation) = $0 { return invocation.request.requestID } else { return nil } })
        }
        let first = Self.frame(&machine, sequence: 0, nowMs: 1_000)
        _ = Self.answerAll(&machine, first, nowMs: 1_010)
        #expect(machine.receiveSubscription("line-3", payload: [], nowMs: 1_020).isEmpty)
        #expect(machine.streamSources.isEmpty)
        _ = machine.receiveSubscription("line-3", payload: try Self.classifyAndMatch.jsonBytes(), nowMs: 1_030)
        let second = Self.frame(&machine, sequence: 0, nowMs: 1_040)
        #expect(!ids(first).isEmpty && !ids(second).isEmpty)
        #expect(ids(first).isDisjoint(with: ids(second)), "\(ids(first)) vs \(ids(second))")
    }

    /// The source's last will ends its stream: the waiting frame is dropped (`ended`), the frame in
    /// flight still gets its results, the telemetry says the source is gone; back online, the
    /// stream starts over.
    @Test func sourceLastWillEndsStream() throws {
        var machine = try Self.machine()
        let running = Self.frame(&machine, sequence: 0, nowMs: 1_000)
        _ = Self.frame(&machine, sequence: 1, nowMs: 1_001)
        machine.receiveSourceState(ServiceState(role: .source, id: "cam-1", status: .offline, session: "s1", timestampMs: 1_002, reason: "last-will"))
        let (_, out) = Self.answerAll(&machine, running, nowMs: 1_010)
        #expect(Set(Self.results(out).compactMap { $0.frame?.sequence }) == [0], "frame 1 never runs")
        let ended = try #require(machine.streamTelemetry(nowMs: 1_100).first)
        #expect(!ended.sourceOnline)
        #expect(ended.drops == ["ended": 1])
        #expect(ended.framesProcessed + 1 == ended.framesIn)
        #expect(machine.router.outstanding.values.reduce(0, +) == 0)
        machine.receiveSourceState(ServiceState(role: .source, id: "cam-1", status: .online, session: "s2", timestampMs: 2_000))
        let fresh = try #require(machine.streamTelemetry(nowMs: 2_001).first)
        #expect(fresh.sourceOnline && fresh.framesIn == 0)
    }

    /// A subscription naming a task that cannot take frames is refused with an error.
    @Test func badSubscriptionIsRefused() throws {
        var machine = try AggregatorStateMachine(configuration: AggregatorFixture.configuration(), catalog: AggregatorFixture.catalog)
        let transcribe = StreamSubscription(source: "cam-1", tasks: [.init(task: "transcribe", inputs: ["audio": .media(contentType: MediaType.wav, bytes: [1])])])
        let refused = machine.receiveSubscription("s", payload: try transcribe.jsonBytes(), nowMs: 0)
        guard case .error(let error, _, _) = try #require(refused.first) else { Issue.record("\(refused)"); return }
        #expect(error.reason.contains("input 'audio' is what the stream fills"))
        let missing = StreamSubscription(source: "cam-1", tasks: [.init(task: "match-image-text")])
        let second = machine.receiveSubscription("s", payload: try missing.jsonBytes(), nowMs: 0)
        guard case .error(let other, _, _) = try #require(second.first) else { Issue.record("\(second)"); return }
        #expect(other.reason.contains("needs input 'texts'"))
        let garbage = machine.receiveSubscription("s", payload: Array("{".utf8), nowMs: 0)
        #expect(garbage.count == 1)
        #expect(machine.streamSources.isEmpty)
    }
}
