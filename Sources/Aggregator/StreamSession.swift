import Catalog
import S2M3Core

/// One source's stream on an aggregator, without I/O (docs/streams.md). Each task is paced on its
/// own: a frame starts at once for every task that is free (its previous frame's result is out)
/// and due (rate limit), and those tasks run it together as one ``MergedTasks`` graph executed by
/// one ``RequestExecution``; a task still busy with an earlier frame skips it (`busy`). When every
/// task is busy, the latest frame waits (an older waiting one is dropped, `superseded`) and starts
/// as soon as a task is free. A frame also waits, briefly, for a busy task expected to be free
/// within a quarter of the free tasks' usual run time, so that tasks of similar speed keep running
/// together and share their nodes. Each task's result is published as soon as its outputs are ready.
/// A microphone's utterances (StreamSession+Audio.swift) run the same way, except that none is
/// skipped or dropped for being superseded: each task hears every utterance, in order.
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
        /// The tasks subscribed when the frame arrived: each runs it or skips it. For an utterance:
        /// the tasks that have not started it yet.
        var tasks: [String] = []
        /// Until when the frame waits for a busy task expected to be free soon (set once).
        var holdUntilMs: Double?
        var utterance: StreamUtterance? = nil
    }

    /// One frame (or utterance) in flight for the tasks that started it together.
    struct Running: Sendable {
        var frame: StreamFrame
        var utterance: StreamUtterance?
        var receivedMs: Double
        var startedMs: Double
        var merged: MergedTasks
        var execution: RequestExecution
        /// Tasks whose result (or error) is out: they are free for the next frame.
        var published: Set<String> = []

        /// Whether `task` still waits for its result of this frame.
        func holds(_ task: String) -> Bool {
            !published.contains(task) && merged.member(task) != nil
        }
    }

    enum Output: Sendable {
        case invoke(RequestExecution.Invocation)
        case result(TaskResult)
        case error(TaskErrorMessage)
    }

    let source: String
    var plans: [String: TaskPlan] = [:]
    /// The frames (or utterances) in flight, oldest first (at most one per task: a busy task starts nothing).
    var running: [Running] = []
    var waiting: Pending?
    /// A microphone's utterances waiting for their tasks, in order (``maxQueuedUtterances``).
    var queued: [Pending] = []
    /// A microphone's chunks on their way to utterances (nil for a camera).
    var audio: AudioIntake?
    var lastSequence: Int?
    var lastStartMs: [String: Double] = [:]
    /// Per task: its usual run time (start → result), ms, a moving average.
    var usualRunMs: [String: Double] = [:]
    var figures = StreamFigures()
    /// False once the source said `offline`, until it says `online` again.
    var online = true

    init(source: String) { self.source = source }

    /// The request id of a frame's results, `{source}-{sequence}`, or an utterance's, `{source}-u{index}`.
    func resultID(_ frame: StreamFrame, utterance: StreamUtterance? = nil) -> String {
        utterance.map { "\(source)-u\($0.index)" } ?? "\(source)-\(frame.sequence)"
    }

    /// Whether `task` is still on an earlier frame or utterance.
    func isBusy(_ task: String) -> Bool { running.contains { $0.holds(task) } }

    /// Whether an execution of this stream is under way (a frame or utterance, or a VAD block).
    var isBusy: Bool { !running.isEmpty || audio?.vad != nil }

    /// Whether the stream still has work: an execution under way, or a frame or utterance waiting.
    var hasWork: Bool { isBusy || waiting != nil || !queued.isEmpty }

    /// When busy `task` is expected to be free (nil: not busy, or no run time known yet).
    func expectedFreeMs(_ task: String) -> Double? {
        guard let run = running.first(where: { $0.holds(task) }), let usual = usualRunMs[task] else { return nil }
        return run.startedMs + usual
    }

    /// Whether `task` may start a frame at `nowMs` under its rate limit.
    func isDue(_ task: String, nowMs: Double) -> Bool {
        guard let plan = plans[task], let last = lastStartMs[task] else { return true }
        return nowMs - last >= plan.intervalMs * 0.95
    }

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
            drop(Pending(frame: frame, media: [], receivedMs: nowMs, tasks: plans.keys.sorted()), "bad-frame")
            figures.arrived(for: plans.keys)
            return [.error(context.error(resultID(frame), task: plans.keys.sorted().first ?? "-", .badInput, problem, nowMs: nowMs))]
        }
        let pending = Pending(frame: frame, media: image, receivedMs: nowMs, tasks: plans.keys.sorted())
        figures.arrived(for: pending.tasks)
        if waiting != nil { dropWaiting("superseded") }
        return start(pending, context: &context, router: &router, nowMs: nowMs)
    }

    /// Drops the waiting frame for `reason`: none of its tasks runs it.
    mutating func dropWaiting(_ reason: String) {
        guard let pending = waiting else { return }
        waiting = nil
        drop(pending, reason)
    }

    private mutating func drop(_ pending: Pending, _ reason: String) {
        figures.dropped(reason)
        for task in pending.tasks { figures.skipped(task, reason) }
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

    /// Starts `pending` for every task of it that is free and due; busy tasks skip it. When none is
    /// free and due but one is busy, the frame waits for it; when none is busy, it is dropped.
    private mutating func start(
        _ pending: Pending, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        guard Double(pending.frame.expiresMs) > nowMs else {
            drop(pending, "expired")
            return []
        }
        let subscribed = pending.tasks.filter { plans[$0] != nil }
        guard !subscribed.isEmpty else {
            drop(pending, "unsubscribed")
            return []
        }
        let due = subscribed.filter { !isBusy($0) && isDue($0, nowMs: nowMs) }
        guard !due.isEmpty else {
            if subscribed.contains(where: { isBusy($0) }) {
                waiting = pending
            } else {
                drop(pending, "rate")
            }
            return []
        }
        var pending = pending
        if pending.holdUntilMs == nil {
            // Wait a little for a busy task about to be free, so tasks of similar speed run together.
            let slack = 0.25 * (due.compactMap { usualRunMs[$0] }.min() ?? 0)
            let soon = subscribed.contains { expectedFreeMs($0).map { $0 <= nowMs + slack } ?? false }
            pending.holdUntilMs = soon ? nowMs + slack : nowMs
        }
        if let hold = pending.holdUntilMs, nowMs < hold, subscribed.contains(where: { expectedFreeMs($0).map { $0 <= hold } ?? false }) {
            waiting = pending
            return []
        }
        for task in pending.tasks where !due.contains(task) {
            figures.skipped(task, plans[task] == nil ? "unsubscribed" : isBusy(task) ? "busy" : "rate")
        }
        return launch(pending, tasks: due, context: &context, router: &router, nowMs: nowMs)
    }

    /// Runs `pending` for `due` as one merged graph (those whose inputs cannot be made get an
    /// error instead), in flight until its tasks' results are out.
    mutating func launch(
        _ pending: Pending, tasks due: [String], context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double
    ) -> [Output] {
        var out: [Output] = []
        var inputs: [String: [String: TensorBundle]] = [:]
        var tasks: [String] = []
        let id = resultID(pending.frame, utterance: pending.utterance)
        for task in due {
            do {
                inputs[task] = try context.inputValues(task: task, frame: pending, inputs: plans[task]!.inputs)
                tasks.append(task)
            } catch {
                figures.error(task)
                figures.skipped(task, "error")
                out.append(.error(context.error(id, task: task, .missingInput, error.message, nowMs: nowMs)))
            }
        }
        let medium = pending.utterance == nil ? StreamContext.frameInput : StreamContext.utteranceInput
        guard !tasks.isEmpty, let merged = context.merge(tasks, sharing: medium) else {
            if pending.utterance == nil { figures.dropped("error") }
            return out
        }
        let execution = RequestExecution(
            requestID: context.executionID("stream", source: source), binding: merged.binding, inputs: merged.inputValues(inputs),
            settings: context.settings, receivedAtMs: pending.receivedMs, deadlineMs: Int(nowMs) + context.timeoutMs)
        for task in tasks {
            lastStartMs[task] = nowMs
            figures.processed(task)
        }
        if pending.utterance == nil { figures.started(nowMs: nowMs) }  // a microphone counts its chunks
        var run = Running(frame: pending.frame, utterance: pending.utterance, receivedMs: pending.receivedMs, startedMs: nowMs, merged: merged, execution: execution)
        out += step(&run, context: context, router: &router, nowMs: nowMs) { $0.start(router: &$1, nowMs: nowMs) }
        if !run.execution.isFinished { running.append(run) }
        return out
    }

    // MARK: Execution events

    /// Whether one of this stream's executions (a frame or utterance in flight, or the VAD's block)
    /// runs under `requestID`.
    func owns(_ requestID: String) -> Bool {
        running.contains { $0.execution.requestID == requestID } || audio?.vad?.execution.requestID == requestID
    }

    /// Runs one event on the executions in flight (only the one under `requestID` when given; the
    /// VAD's block first), then starts the waiting frame if a task of it is now free and due, and
    /// the queued utterances whose tasks are free.
    mutating func advance(
        requestID: String? = nil, context: inout StreamContext, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [Output] {
        var out: [Output] = []
        let inFlight = running.count  // not what the VAD's block starts now
        if let vad = audio?.vad, requestID == nil || vad.execution.requestID == requestID {
            out += advanceVAD(context: &context, router: &router, nowMs: nowMs, event)
        }
        for index in 0..<inFlight where requestID == nil || running[index].execution.requestID == requestID {
            var run = running[index]
            out += step(&run, context: context, router: &router, nowMs: nowMs, event)
            running[index] = run
        }
        running.removeAll { $0.execution.isFinished }
        if let next = waiting {
            waiting = nil
            out += start(next, context: &context, router: &router, nowMs: nowMs)
        }
        return out + startQueued(context: &context, router: &router, nowMs: nowMs)
    }

    /// Runs one event on `run` and turns what it did into outputs: invocations, each task's result
    /// once its outputs exist, errors for the tasks left when the frame fails.
    private mutating func step(
        _ run: inout Running, context: StreamContext, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [Output] {
        let actions = event(&run.execution, &router)
        var out: [Output] = []
        var failure: (TaskErrorCode, String)?
        for action in actions {
            switch action {
            case .invoke(let invocation): out.append(.invoke(invocation))
            case .complete: break
            case .fail(let code, let reason, _): failure = (code, reason)
            }
        }
        let finished = run.execution.finishedNodes
        for member in run.merged.members where !run.published.contains(member.binding.task.id) {
            let task = member.binding.task.id
            guard run.merged.isReady(member, finished: finished) else { continue }
            run.published.insert(task)
            let took = nowMs - run.startedMs
            usualRunMs[task] = usualRunMs[task].map { 0.8 * $0 + 0.2 * took } ?? took
            guard plans[task] != nil else { continue }  // unsubscribed meanwhile
            out.append(publish(member, of: run, context: context, nowMs: nowMs))
        }
        if let (code, reason) = failure {
            for member in run.merged.members where !run.published.contains(member.binding.task.id) {
                let task = member.binding.task.id
                run.published.insert(task)
                guard plans[task] != nil else { continue }
                figures.error(task)
                out.append(.error(context.error(resultID(run.frame, utterance: run.utterance), task: task, code, reason, nowMs: nowMs)))
            }
        }
        return out
    }

    private mutating func publish(_ member: MergedTasks.Member, of run: Running, context: StreamContext, nowMs: Double) -> Output {
        let task = member.binding.task.id
        let id = resultID(run.frame, utterance: run.utterance)
        do {
            let outputs = try run.merged.result(of: member, values: run.execution.values)
            let entries = run.execution.timeline.enumerated()
                .sorted { ($0.element.startMs, $0.offset) < ($1.element.startMs, $1.offset) }.map(\.element)
            var result = TaskResult(
                requestID: id, task: task, epoch: max(run.execution.epoch, 1), outputs: outputs,
                timeline: run.merged.timeline(of: member, entries: entries), totalMs: max(0, nowMs - run.receivedMs),
                aggregator: context.settings.aggregator, completedAtMs: Int(nowMs))
            if let utterance = run.utterance {
                result.utterance = utterance
            } else {
                result.frame = StreamFrameReference(source: source, sequence: run.frame.sequence, capturedMs: run.frame.capturedMs)
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
