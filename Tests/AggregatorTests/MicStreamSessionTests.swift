import Aggregator
import Catalog
import Foundation
import S2M3Core
import Testing

/// Microphone streams in the aggregator's state machine (pure): chunks in, the VAD module invoked
/// per block, one run of the subscribed tasks per utterance. Devices are made up: the VAD answers
/// 0.9 for a loud block and 0.05 for a quiet one, the other modules as ``AggregatorFixture``.
@Suite("Microphones: utterances through the VAD module, gaps, bad chunks, ends")
struct MicStreamSessionTests {
    static let subscription = StreamSubscription(source: "mic-1", tasks: [
        .init(task: "transcribe"),
        .init(task: "voice-command", inputs: ["commands": .texts(["stop the line", "open the gate"])]),
    ])

    static func machine() throws -> AggregatorStateMachine {
        var machine = try AggregatorStateMachine(configuration: AggregatorFixture.configuration(), catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        let actions = machine.receiveSubscription("line-mic", payload: try subscription.jsonBytes(), nowMs: 0)
        #expect(actions.isEmpty, "a good subscription is taken silently: \(actions)")
        return machine
    }

    /// Half a second of audio (8000 samples), loud (speech) or quiet.
    static func chunk(_ machine: inout AggregatorStateMachine, _ sequence: Int, loud: Bool, nowMs: Double) -> [AggregatorAction] {
        let samples = [Int16](repeating: loud ? 8_000 : 10, count: 8_000)
        let properties = AudioChunk.properties(sequence: sequence, capturedMs: 100_000 + 500 * sequence)
        return machine.receiveAudio(source: "mic-1", payload: AudioChunk.payload(samples), properties: properties, nowMs: nowMs)
    }

    /// Answers every invocation (and those they lead to); returns the invoked modules and all out.
    static func answerAll(_ machine: inout AggregatorStateMachine, _ actions: [AggregatorAction], nowMs: Double) -> (invoked: [String], out: [AggregatorAction]) {
        var queue = actions, invoked: [String] = [], out: [AggregatorAction] = []
        while !queue.isEmpty {
            let action = queue.removeFirst()
            out.append(action)
            guard case .invoke(let invocation) = action else { continue }
            invoked.append(invocation.request.module)
            queue += answer(&machine, invocation, nowMs: nowMs)
        }
        return (invoked, out)
    }

    /// The device's answer to one invocation, and what the machine does with it.
    static func answer(_ machine: inout AggregatorStateMachine, _ invocation: RequestExecution.Invocation, nowMs: Double) -> [AggregatorAction] {
        var (partial, bundle) = AggregatorFixture.answer(invocation, nowMs: Int(nowMs))
        if invocation.request.module == "silero-vad" {
            let samples = (try? invocation.arguments.tensor("samples").floats()) ?? []
            let loud = samples.contains { abs($0) > 0.1 }
            bundle = try! partial.bundle(outputs: TensorBundle(tensors: ["speech": BundleTensor(floats: [loud ? 0.9 : 0.05], shape: [1])]))
        }
        return machine.receivePartial(partial, outputs: try! TensorBundle(decoding: bundle.encoded()), nowMs: nowMs)
    }

    /// Feeds `pattern` (true: a loud chunk) and answers everything as it goes.
    static func feed(_ machine: inout AggregatorStateMachine, _ pattern: [Bool], from first: Int = 0, skip: Set<Int> = []) -> (invoked: [String], out: [AggregatorAction]) {
        var invoked: [String] = [], out: [AggregatorAction] = []
        for (offset, loud) in pattern.enumerated() where !skip.contains(first + offset) {
            let sequence = first + offset
            let step = answerAll(&machine, chunk(&machine, sequence, loud: loud, nowMs: 1_000 + Double(sequence) * 10), nowMs: 1_000 + Double(sequence) * 10 + 5)
            invoked += step.invoked
            out += step.out
        }
        return (invoked, out)
    }

    static func results(_ actions: [AggregatorAction]) -> [TaskResult] {
        actions.compactMap { if case .streamResult(let result) = $0 { return result } else { return nil } }
    }

    static func errors(_ actions: [AggregatorAction]) -> [TaskErrorMessage] {
        actions.compactMap { if case .error(let message, _, _) = $0 { return message } else { return nil } }
    }

    /// Two utterances separated by silence: the VAD runs once per block, each utterance is one
    /// merged run (Whisper once for both tasks) with one result per task, in order, with times.
    @Test func oneMergedRunPerUtterance() throws {
        var machine = try Self.machine()
        let quiet = [false, false], speech = [true, true], silence = [false, false, false]
        let (invoked, out) = Self.feed(&machine, quiet + speech + silence + speech + silence)
        // 12 chunks × 8000 samples = 96000 samples: 23 full blocks, each through the VAD once, and
        // the transcribe graph's own VAD node once per utterance.
        #expect(invoked.filter { $0 == "silero-vad" }.count == 96_000 / 4_096 + 2)
        #expect(invoked.filter { $0 == "whisper-tiny-encoder" }.count == 2, "Whisper once per utterance for both tasks")
        let results = Self.results(out)
        #expect(results.count == 4)
        #expect(results.map(\.task).sorted() == ["transcribe", "transcribe", "voice-command", "voice-command"])
        let utterances = results.compactMap(\.utterance)
        #expect(utterances.count == 4)
        #expect(results.map { $0.utterance?.index ?? -1 } == [0, 0, 1, 1], "in order")
        let first = try #require(results.first?.utterance)
        // Speech is chunks 2–3 (1000–2000 ms); blocks of 256 ms: the first loud block starts at
        // 768 ms (block 3 holds samples 12288…), the last loud one ends at 2048 ms.
        #expect(first.startMs == 768 && first.endMs == 2_048, "\(first)")
        #expect(first.endReason == .silence && !first.gap)
        #expect(first.source == "mic-1" && first.capturedMs == 100_768)
        #expect(results.first?.requestID == "mic-1-u0")
        #expect(results.allSatisfy { $0.frame == nil })
        for result in results { try result.validate() }
        let voice = try #require(results.first { $0.task == "voice-command" })
        #expect(voice.outputs["match"] != nil && voice.outputs["transcript"] != nil)
        let telemetry = try #require(machine.streamTelemetry(nowMs: 2_000).first)
        #expect(telemetry.framesIn == 12 && telemetry.framesProcessed == 12 && telemetry.drops.isEmpty)
        #expect(telemetry.utterances == 2)
        try telemetry.validate()
    }

    /// Chunks lost in transit: counted as `gap`, the utterance that spans them ends there, marked.
    @Test func aGapEndsTheUtteranceAndIsReported() throws {
        var machine = try Self.machine()
        let (_, out) = Self.feed(&machine, [false, true, true, true, true, false, false, false, false], skip: [3, 4])
        let results = Self.results(out)
        let utterances = results.compactMap(\.utterance)
        #expect(!utterances.isEmpty)
        let first = try #require(utterances.first)
        #expect(first.gap && first.endReason == .gap, "\(first)")
        #expect(first.endMs <= 1_500, "the utterance does not run past the lost audio: \(first)")
        let telemetry = try #require(machine.streamTelemetry(nowMs: 2_000).first)
        #expect(telemetry.drops["gap"] == 2)
    }

    /// A chunk of the wrong format, size or sequence is refused with a `bad-input` error naming
    /// what was wrong, counted, and the stream goes on.
    @Test func badChunksAreRefusedAndTheStreamGoesOn() throws {
        var machine = try Self.machine()
        var wrong = AudioChunk.properties(sequence: 0, capturedMs: 100_000)
        wrong.contentType = "audio/L16;rate=44100;channels=1"
        let refused = machine.receiveAudio(source: "mic-1", payload: [0, 0, 0, 0], properties: wrong, nowMs: 1_000)
        let error = try #require(Self.errors(refused).first)
        #expect(error.code == .badInput && error.reason.contains("rate=16000"), "\(error.reason)")
        let huge = machine.receiveAudio(
            source: "mic-1", payload: [UInt8](repeating: 0, count: 2 * AudioChunk.maxSamples + 2),
            properties: AudioChunk.properties(sequence: 0, capturedMs: 100_000), nowMs: 1_000)
        #expect(Self.errors(huge).first?.reason.contains("at most") == true)
        let odd = machine.receiveAudio(source: "mic-1", payload: [1, 2, 3], properties: AudioChunk.properties(sequence: 0, capturedMs: 100_000), nowMs: 1_000)
        #expect(Self.errors(odd).count == 1)
        let (_, out) = Self.feed(&machine, [false, true, true, false, false, false])
        #expect(Self.results(out).count == 2, "the stream goes on after bad chunks")
        let telemetry = try #require(machine.streamTelemetry(nowMs: 2_000).first)
        #expect(telemetry.drops["bad-frame"] == 3)
        #expect(machine.receiveAudio(source: "nobody", payload: [1], properties: wrong, nowMs: 1_000).isEmpty, "an unsubscribed source is not answered")
    }

    /// Utterances found while the tasks are still on an earlier one wait for them: none is dropped
    /// for being superseded (as a waiting frame would be), and each task hears them all, in order.
    @Test func utterancesWaitForBusyTasksInOrder() throws {
        var machine = try Self.machine()
        var held: [RequestExecution.Invocation] = [], out: [AggregatorAction] = []
        // Answers the stream's own VAD blocks at once; holds the utterances' invocations while `holding`.
        func run(_ actions: [AggregatorAction], holding: Bool, nowMs: Double) {
            var queue = actions
            while !queue.isEmpty {
                let action = queue.removeFirst()
                guard case .invoke(let invocation) = action else { out.append(action); continue }
                if holding, !invocation.request.requestID.hasPrefix("vad:") {
                    held.append(invocation)
                } else {
                    queue += Self.answer(&machine, invocation, nowMs: nowMs)
                }
            }
        }
        let pattern = [false, false] + [true, true, false, false, false] + [true, true, false, false, false] + [true, true, false, false, false]
        for (sequence, loud) in pattern.enumerated() {
            let nowMs = 1_000 + Double(sequence) * 10
            run(Self.chunk(&machine, sequence, loud: loud, nowMs: nowMs), holding: true, nowMs: nowMs + 5)
        }
        let during = try #require(machine.streamTelemetry(nowMs: 1_200).first)
        #expect(during.utterances == 3, "three utterances found while the first one runs")
        #expect(Set(held.map(\.request.requestID)).count == 1, "only the first utterance started: \(held.map(\.request.requestID))")
        #expect(Self.results(out).isEmpty)
        #expect(during.drops.isEmpty, "nothing superseded: \(during.drops)")

        var encoders = held.filter { $0.request.module == "whisper-tiny-encoder" }.count
        while !held.isEmpty {
            let invocation = held.removeFirst()
            var queue = Self.answer(&machine, invocation, nowMs: 1_300)
            while !queue.isEmpty {
                let action = queue.removeFirst()
                guard case .invoke(let next) = action else { out.append(action); continue }
                if next.request.module == "whisper-tiny-encoder" { encoders += 1 }
                queue += Self.answer(&machine, next, nowMs: 1_300)
            }
        }
        let results = Self.results(out)
        for task in ["transcribe", "voice-command"] {
            #expect(results.filter { $0.task == task }.map { $0.utterance?.index ?? -1 } == [0, 1, 2], "\(task): every utterance, in order")
        }
        #expect(results.count == 6)
        // The first utterance runs both tasks together (Whisper once). Then each task is paced on
        // its own: `transcribe` is free before `voice-command` (whose matching node comes after
        // Whisper), so it may take the next utterance alone; Whisper never runs twice for a task.
        #expect((3...6).contains(encoders), "\(encoders) Whisper runs for 3 utterances and 2 tasks")
        #expect(Self.errors(out).isEmpty, "\(Self.errors(out))")
        let after = try #require(machine.streamTelemetry(nowMs: 1_400).first)
        for task in ["transcribe", "voice-command"] {
            let figures = try #require(after.tasks[task])
            #expect(figures.framesIn == 3 && figures.framesProcessed == 3 && figures.skipped.isEmpty, "\(task): \(figures)")
        }
        #expect(machine.router.outstanding.values.reduce(0, +) == 0)
    }

    /// The source's last will: the audio received is heard to its end, the open utterance ends
    /// `source-ended` and gets its results; the telemetry says the source is gone.
    @Test func lastWillEndsTheOpenUtterance() throws {
        var machine = try Self.machine()
        let (_, before) = Self.feed(&machine, [false, true, true])
        #expect(Self.results(before).isEmpty, "still speaking")
        let ended = machine.receiveSourceState(
            ServiceState(role: .source, id: "mic-1", status: .offline, session: "s1", timestampMs: 2_000, reason: "last-will"), nowMs: 2_000)
        let (_, out) = Self.answerAll(&machine, ended, nowMs: 2_010)
        let results = Self.results(out)
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.utterance?.endReason == .sourceEnded })
        let telemetry = try #require(machine.streamTelemetry(nowMs: 2_100).first)
        #expect(!telemetry.sourceOnline)
        #expect(machine.router.outstanding.values.reduce(0, +) == 0)
    }

    /// Clearing the subscription stops the results, also of the utterance in flight.
    @Test func removedSubscriptionStopsResults() throws {
        var machine = try Self.machine()
        _ = Self.feed(&machine, [false, true, true])
        var pending = Self.chunk(&machine, 3, loud: false, nowMs: 1_100)
        pending += Self.chunk(&machine, 4, loud: false, nowMs: 1_101)
        #expect(machine.receiveSubscription("line-mic", payload: [], nowMs: 1_102).isEmpty)
        let (_, out) = Self.answerAll(&machine, pending, nowMs: 1_110)
        #expect(Self.results(out).isEmpty)
        #expect(Self.feed(&machine, [true, true, false, false, false], from: 5).out.isEmpty, "no subscription, no work")
        #expect(machine.streamSources.isEmpty)
    }
}
