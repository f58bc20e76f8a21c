import Catalog
import S2M3Core

/// A microphone's stream (docs/streams.md): chunks are assembled into 256 ms blocks
/// (``AudioBlocks``); each block goes, in order and one at a time, through the catalog's VAD module
/// on the cluster (``StreamContext/vadBinding``, the same executor as every request); the
/// probabilities cut utterances (``UtteranceSegmenter``); each utterance runs the subscribed tasks
/// as one merged graph with its WAV audio as their `audio` input. Each task hears every utterance
/// in order, paced on its own like frames: an utterance starts for the tasks that are free, and a
/// task still on an earlier one starts it once it is free.
extension StreamSession {
    /// Blocks waiting for the VAD at most (about 30 s of audio); beyond, the oldest is dropped
    /// (`overload`) and the utterance it belonged to ends, marked as a gap.
    static let maxWaitingBlocks = 120
    /// Utterances waiting for their tasks at most; beyond, the oldest is answered `overloaded`.
    static let maxQueuedUtterances = 8

    /// What the VAD works through: a block, or the source's end.
    enum AudioWork: Sendable {
        case block(AudioBlocks.Block)
        case end
    }

    /// A microphone's state between its chunks and its utterances.
    struct AudioIntake: Sendable {
        var blocks = AudioBlocks()
        var segmenter = UtteranceSegmenter()
        var waiting: [AudioWork] = []
        /// The block the VAD is running on.
        var vad: (execution: RequestExecution, block: AudioBlocks.Block)?
        var utterances = 0
        /// The VAD's failure was reported (once per stream, not per block).
        var vadFailureReported = false
    }

    /// A chunk whose properties were read: assembled, its blocks queued for the VAD.
    mutating func receive(
        _ chunk: AudioChunk, payload: [UInt8], context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        if !online {
            // A chunk from a source that ended: it is back (its `online` may come later).
            restart()
        }
        figures.arrived(nowMs: nowMs)
        var intake = audio ?? AudioIntake()
        let taken = intake.blocks.add(chunk, samples: AudioChunk.samples(payload))
        audio = intake
        if taken.duplicate {
            figures.dropped("duplicate")
            return []
        }
        figures.started(nowMs: nowMs)
        if taken.missing > 0 { figures.dropped("gap", count: taken.missing) }
        for block in taken.blocks { enqueue(.block(block)) }
        return nextVAD(context: &context, router: &router, nowMs: nowMs)
    }

    /// The source said `offline`: the samples held go to the VAD, then the open utterance ends.
    mutating func endAudio(context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double) -> [Output] {
        guard var intake = audio else { return [] }
        if let last = intake.blocks.flush() { intake.waiting.append(.block(last)) }
        intake.waiting.append(.end)
        intake.blocks = AudioBlocks()
        audio = intake
        return nextVAD(context: &context, router: &router, nowMs: nowMs)
    }

    /// The source is back after it ended: a new sequence and time origin; what was queued of the
    /// old stream is still worked through.
    mutating func restart() {
        online = true
        figures = StreamFigures()
        lastSequence = nil
        audio?.blocks = AudioBlocks()
    }

    private mutating func enqueue(_ work: AudioWork) {
        guard var intake = audio else { return }
        intake.waiting.append(work)
        if intake.waiting.count > Self.maxWaitingBlocks, case .block = intake.waiting[0] {
            intake.waiting.removeFirst()
            figures.dropped("overload")
            // The audio is lost like chunks in transit: what follows is after a gap.
            if case .block(var next) = intake.waiting[0] {
                next.afterGap = true
                intake.waiting[0] = .block(next)
            }
        }
        audio = intake
    }

    /// Starts the VAD on the next block when none runs; works through the ends first.
    mutating func nextVAD(context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double) -> [Output] {
        var out: [Output] = []
        while var intake = audio, intake.vad == nil, !intake.waiting.isEmpty {
            let work = intake.waiting.removeFirst()
            audio = intake
            guard case .block(let block) = work else {
                if let utterance = audio?.segmenter.finish() { out += heard(utterance, context: &context, router: &router, nowMs: nowMs) }
                continue
            }
            guard !plans.isEmpty else { continue }  // unsubscribed: nothing to listen for
            guard let binding = context.vadBinding else {
                out += vadFailed("the catalog has no module with driver '\(StreamContext.vadDriver)' to find speech", block: block, context: &context, router: &router, nowMs: nowMs)
                continue
            }
            var inputs = TensorBundle()
            do throws(TensorBundleError) {
                try inputs.set(BundleTensor(floats: block.samples.map { Float($0) / 32_768 }), named: "samples")
            } catch {
                out += vadFailed(error.message, block: block, context: &context, router: &router, nowMs: nowMs)
                continue
            }
            let execution = RequestExecution(
                requestID: context.executionID("vad", source: source), binding: binding, inputs: ["samples": inputs],
                settings: context.settings, receivedAtMs: nowMs, deadlineMs: Int(nowMs) + context.timeoutMs)
            intake.vad = (execution, block)
            audio = intake
            out += advanceVAD(context: &context, router: &router, nowMs: nowMs) { $0.start(router: &$1, nowMs: nowMs) }
        }
        return out
    }

    /// Runs one event on the VAD's block; when it is done its probability goes to the segmenter.
    mutating func advanceVAD(
        context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [Output] {
        guard var intake = audio, var run = intake.vad else { return [] }
        let actions = event(&run.execution, &router)
        var out: [Output] = []
        var failure: String?
        for action in actions {
            switch action {
            case .invoke(let invocation): out.append(.invoke(invocation))
            case .complete: break
            case .fail(_, let reason, _): failure = reason
            }
        }
        guard run.execution.isFinished else {
            intake.vad = run
            audio = intake
            return out
        }
        intake.vad = nil
        audio = intake
        if let failure {
            out += vadFailed(failure, block: run.block, context: &context, router: &router, nowMs: nowMs)
        } else if let probability = try? run.execution.values["speech"]?.tensor("speech").floats().first {
            for utterance in audio?.segmenter.feed(run.block, speech: probability) ?? [] {
                out += heard(utterance, context: &context, router: &router, nowMs: nowMs)
            }
        } else {
            out += vadFailed("the VAD answered no 'speech' probability", block: run.block, context: &context, router: &router, nowMs: nowMs)
        }
        return out + nextVAD(context: &context, router: &router, nowMs: nowMs)
    }

    /// A block whose speech is unknown: like lost audio, the open utterance ends there (a gap);
    /// the failure is reported once per stream on every task's error topic.
    private mutating func vadFailed(
        _ reason: String, block: AudioBlocks.Block, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        figures.dropped("vad-failed")
        var out: [Output] = []
        if let utterance = audio?.segmenter.gap() { out += heard(utterance, context: &context, router: &router, nowMs: nowMs) }
        guard audio?.vadFailureReported == false else { return out }
        audio?.vadFailureReported = true
        for task in plans.keys.sorted() {
            figures.error(task)
            out.append(.error(context.error(nil, task: task, .moduleFailed, "microphone '\(source)': voice activity at \(Int(block.startMs)) ms into the stream could not be found: \(reason)", nowMs: nowMs)))
        }
        return out
    }

    /// An utterance found: queued for the subscribed tasks (its WAV audio as their `audio`).
    private mutating func heard(
        _ utterance: UtteranceSegmenter.Utterance, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        guard !plans.isEmpty, var intake = audio else { return [] }
        let reference = StreamUtterance(
            source: source, index: intake.utterances, startMs: utterance.startMs, endMs: utterance.endMs,
            capturedMs: utterance.capturedMs, endReason: utterance.endReason, gap: utterance.gap)
        intake.utterances += 1
        audio = intake
        let frame = StreamFrame(
            source: source, sequence: reference.index, contentType: MediaType.wav, capturedMs: utterance.capturedMs,
            expiresMs: Int(nowMs) + 3_600_000)
        let pending = Pending(
            frame: frame, media: AudioChunk.wav(utterance.samples), receivedMs: nowMs, tasks: plans.keys.sorted(), utterance: reference)
        figures.arrived(for: pending.tasks)
        var out: [Output] = []
        if queued.count >= Self.maxQueuedUtterances {
            let dropped = queued.removeFirst()
            figures.dropped("overload")
            for task in dropped.tasks where plans[task] != nil {
                figures.error(task)
                figures.skipped(task, "overload")
                out.append(.error(context.error(resultID(dropped.frame, utterance: dropped.utterance), task: task, .overloaded,
                    "microphone '\(source)': \(Self.maxQueuedUtterances) utterances were already waiting; this one is dropped", nowMs: nowMs)))
            }
        }
        queued.append(pending)
        return out + startQueued(context: &context, router: &router, nowMs: nowMs)
    }

    /// Whether the free tasks of `pending` wait, briefly, for a busy task of it expected to be free
    /// soon (as a frame does, so that tasks of similar speed keep sharing Whisper).
    private func holds(_ pending: inout Pending, free: [String], nowMs: Double) -> Bool {
        let busy = pending.tasks.filter { !free.contains($0) }
        if pending.holdUntilMs == nil {
            let slack = 0.25 * (free.compactMap { usualRunMs[$0] }.min() ?? 0)
            let soon = busy.contains { expectedFreeMs($0).map { $0 <= nowMs + slack } ?? false }
            pending.holdUntilMs = soon ? nowMs + slack : nowMs
        }
        guard let hold = pending.holdUntilMs, nowMs < hold else { return false }
        return busy.contains { expectedFreeMs($0).map { $0 <= hold } ?? false }
    }

    /// Starts each queued utterance, oldest first, for its tasks that are free and owe no earlier
    /// utterance; an utterance leaves the queue once every task of it has started it (or left).
    mutating func startQueued(context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double) -> [Output] {
        var out: [Output] = []
        var owing = Set<String>()  // tasks that an earlier queued utterance still waits for
        var index = 0
        while index < queued.count {
            var pending = queued[index]
            for task in pending.tasks where plans[task] == nil { figures.skipped(task, "unsubscribed") }
            pending.tasks.removeAll { plans[$0] == nil }  // unsubscribed meanwhile
            var free = pending.tasks.filter { !isBusy($0) && !owing.contains($0) }
            if !free.isEmpty, holds(&pending, free: free, nowMs: nowMs) { free = [] }
            pending.tasks.removeAll { free.contains($0) }
            if !free.isEmpty { pending.holdUntilMs = nil }  // the tasks left may wait again, for each other
            owing.formUnion(pending.tasks)
            if pending.tasks.isEmpty { queued.remove(at: index) } else { queued[index] = pending; index += 1 }
            if !free.isEmpty { out += launch(pending, tasks: free, context: &context, router: &router, nowMs: nowMs) }
        }
        return out
    }
}
