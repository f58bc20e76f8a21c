import Catalog
import S2M3Core

/// One source's stream on an aggregator, without I/O (docs/streams.md): for each frame the tasks
/// subscribed to the source run as one ``MergedTasks`` graph executed by one ``RequestExecution``;
/// each task's result is published as soon as its own outputs are ready. One frame runs at a time;
/// the latest frame to arrive meanwhile waits (an older waiting one is dropped, `superseded`).
struct StreamSession: Sendable {
    /// What one task of the stream needs: its inputs besides the frame and its rate limit.
    struct TaskPlan: Sendable, Hashable {
        var inputs: [String: TaskInput]
        /// Minimum time between two frames started for the task, ms (0: none).
        var intervalMs: Double
    }

    /// A frame, or a microphone's utterance (its WAV audio), waiting for its turn.
    struct Pending: Sendable {
        var frame: StreamFrame
        var media: [UInt8]
        var receivedMs: Double
        var utterance: StreamUtterance? = nil
    }

    struct Running: Sendable {
        var frame: StreamFrame
        var utterance: StreamUtterance?
        var receivedMs: Double
        var merged: MergedTasks
        var execution: RequestExecution
        var published: Set<String> = []
    }

    enum Output: Sendable {
        case invoke(RequestExecution.Invocation)
        case result(TaskResult)
        case error(TaskErrorMessage)
    }

    let source: String
    var plans: [String: TaskPlan] = [:]
    var current: Running?
    var waiting: Pending?
    /// A microphone's utterances waiting for their turn, in order (``maxQueuedUtterances``).
    var queued: [Pending] = []
    /// A microphone's chunks on their way to utterances (nil for a camera).
    var audio: AudioIntake?
    var lastSequence: Int?
    var lastStartMs: [String: Double] = [:]
    var figures = StreamFigures()
    /// False once the source said `offline`, until it says `online` again.
    var online = true

    init(source: String) { self.source = source }

    /// The request id of a frame's results, `{source}-{sequence}`, or an utterance's, `{source}-u{index}`.
    func resultID(_ frame: StreamFrame, utterance: StreamUtterance? = nil) -> String {
        utterance.map { "\(source)-u\($0.index)" } ?? "\(source)-\(frame.sequence)"
    }

    /// Whether an execution of this stream is under way (a frame or utterance, or a VAD block).
    var isBusy: Bool { current != nil || audio?.vad != nil }

    // MARK: Frames

    /// A frame whose properties were read; the image's own checks happen here.
    mutating func receive(
        _ frame: StreamFrame, image: [UInt8], context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        if !online {
            // A frame from a source that ended: it is back (its `online` may come later).
            online = true
            figures = StreamFigures()
            lastSequence = nil
        }
        figures.arrived(nowMs: nowMs)
        if let last = lastSequence, frame.sequence > last + 1 { figures.dropped("gap", count: frame.sequence - last - 1) }
        lastSequence = frame.sequence
        if let problem = Self.check(frame, image: image, limits: context.limits) {
            figures.dropped("bad-frame")
            return [.error(context.error(resultID(frame), task: plans.keys.sorted().first ?? "-", .badInput, problem, nowMs: nowMs))]
        }
        let pending = Pending(frame: frame, media: image, receivedMs: nowMs)
        guard current != nil else { return start(pending, context: &context, router: &router, nowMs: nowMs) }
        if waiting != nil { figures.dropped("superseded") }
        waiting = pending
        return []
    }

    /// Why a frame's bytes cannot be used, or nil.
    static func check(_ frame: StreamFrame, image: [UInt8], limits: LimitsConfiguration) -> String? {
        guard image.count <= limits.maxPayloadBytes else {
            return "frame \(frame.sequence) has \(image.count) bytes; the limit is \(limits.maxPayloadBytes) (maxPayloadBytes)"
        }
        guard MediaType.sniff(image) == frame.contentType else {
            return "frame \(frame.sequence) is declared \(frame.contentType) but its bytes are not one"
        }
        if let size = MediaHeader.imageSize(of: image) {
            let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
            guard !overflow, pixels <= limits.maxImagePixels else {
                return "frame \(frame.sequence) is \(size.width)x\(size.height); the limit is \(limits.maxImagePixels) pixels (maxImagePixels)"
            }
        }
        return nil
    }

    /// Starts `pending` for every task due (rate limits), unless it expired.
    mutating func start(
        _ pending: Pending, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        guard Double(pending.frame.expiresMs) > nowMs else {
            figures.dropped("expired")
            return []
        }
        let due = plans.keys.sorted().filter { task in
            guard pending.utterance == nil else { return true }  // every utterance is heard
            guard let plan = plans[task], let last = lastStartMs[task] else { return true }
            return nowMs - last >= plan.intervalMs * 0.95
        }
        guard !due.isEmpty else {
            figures.dropped("rate")
            return []
        }
        var out: [Output] = []
        var inputs: [String: [String: TensorBundle]] = [:]
        var tasks: [String] = []
        for task in due {
            do {
                inputs[task] = try context.inputValues(task: task, frame: pending, inputs: plans[task]!.inputs)
                tasks.append(task)
            } catch {
                figures.error(task)
                out.append(.error(context.error(resultID(pending.frame, utterance: pending.utterance), task: task, .missingInput, error.message, nowMs: nowMs)))
            }
        }
        let medium = pending.utterance == nil ? StreamContext.frameInput : StreamContext.utteranceInput
        guard !tasks.isEmpty, let merged = context.merge(tasks, sharing: medium) else { return out }
        let execution = RequestExecution(
            requestID: context.executionID("stream", source: source), binding: merged.binding, inputs: merged.inputValues(inputs),
            settings: context.settings, receivedAtMs: pending.receivedMs, deadlineMs: Int(nowMs) + context.timeoutMs)
        for task in tasks { lastStartMs[task] = nowMs }
        if pending.utterance == nil { figures.started(nowMs: nowMs) }  // a microphone counts its chunks
        current = Running(frame: pending.frame, utterance: pending.utterance, receivedMs: pending.receivedMs, merged: merged, execution: execution)
        return out + advance(context: &context, router: &router, nowMs: nowMs) { $0.start(router: &$1, nowMs: nowMs) }
    }

    // MARK: Execution events

    /// Whether this stream's frame in flight runs under `requestID`.
    func owns(_ requestID: String) -> Bool {
        current?.execution.requestID == requestID || audio?.vad?.execution.requestID == requestID
    }

    /// Runs one event on the execution running under `requestID` (nil: on every one, the VAD's
    /// block first).
    mutating func advanceAll(
        requestID: String?, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [Output] {
        var out: [Output] = []
        if audio?.vad != nil, requestID == nil || audio?.vad?.execution.requestID == requestID {
            out += advanceVAD(context: &context, router: &router, nowMs: nowMs, event)
        }
        if current != nil, requestID == nil || current?.execution.requestID == requestID {
            out += advance(context: &context, router: &router, nowMs: nowMs, event)
        }
        return out
    }

    /// Runs one event on the frame in flight and turns what it did into outputs: invocations, each
    /// task's result once its outputs exist, errors for the tasks left when the frame fails; then
    /// starts the waiting frame when this one is over.
    mutating func advance(
        context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [Output] {
        guard var running = current else { return [] }
        let actions = event(&running.execution, &router)
        var out: [Output] = []
        var failure: (TaskErrorCode, String)?
        for action in actions {
            switch action {
            case .invoke(let invocation): out.append(.invoke(invocation))
            case .complete: break
            case .fail(let code, let reason, _): failure = (code, reason)
            }
        }
        let finished = running.execution.finishedNodes
        for member in running.merged.members where !running.published.contains(member.binding.task.id) {
            let task = member.binding.task.id
            guard running.merged.isReady(member, finished: finished) else { continue }
            running.published.insert(task)
            guard plans[task] != nil else { continue }  // unsubscribed meanwhile
            out.append(publish(member, of: running, context: context, nowMs: nowMs))
        }
        if let (code, reason) = failure {
            for member in running.merged.members where !running.published.contains(member.binding.task.id) {
                let task = member.binding.task.id
                guard plans[task] != nil else { continue }
                figures.error(task)
                out.append(.error(context.error(resultID(running.frame, utterance: running.utterance), task: task, code, reason, nowMs: nowMs)))
            }
        }
        guard !running.execution.isFinished else {
            current = nil
            if let next = waiting {
                waiting = nil
                return out + start(next, context: &context, router: &router, nowMs: nowMs)
            }
            guard !queued.isEmpty else { return out }
            return out + start(queued.removeFirst(), context: &context, router: &router, nowMs: nowMs)
        }
        current = running
        return out
    }

    private mutating func publish(_ member: MergedTasks.Member, of running: Running, context: StreamContext, nowMs: Double) -> Output {
        let task = member.binding.task.id
        let id = resultID(running.frame, utterance: running.utterance)
        do {
            let outputs = try running.merged.result(of: member, values: running.execution.values)
            let entries = running.execution.timeline.enumerated()
                .sorted { ($0.element.startMs, $0.offset) < ($1.element.startMs, $1.offset) }.map(\.element)
            var result = TaskResult(
                requestID: id, task: task, epoch: max(running.execution.epoch, 1), outputs: outputs,
                timeline: running.merged.timeline(of: member, entries: entries), totalMs: max(0, nowMs - running.receivedMs),
                aggregator: context.settings.aggregator, completedAtMs: Int(nowMs))
            if let utterance = running.utterance {
                result.utterance = utterance
            } else {
                result.frame = StreamFrameReference(source: source, sequence: running.frame.sequence, capturedMs: running.frame.capturedMs)
            }
            try result.validate()
            figures.result(task, latencyMs: result.totalMs, nowMs: nowMs)
            return .result(result)
        } catch let error as TaskBindingError {
            figures.error(task)
            return .error(context.error(id, task: task, .moduleFailed, "the task's output cannot be read: \(error.message)", nowMs: nowMs))
        } catch {
            figures.error(task)
            return .error(context.error(id, task: task, .moduleFailed, "the task's result cannot be published: \(error)", nowMs: nowMs))
        }
    }

}
