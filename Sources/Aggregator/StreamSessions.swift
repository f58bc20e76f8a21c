import Catalog
import S2M3Core

/// Every stream an aggregator serves (docs/streams.md): the retained subscriptions it read, one
/// ``StreamSession`` per subscribed source, and the routing of partials to them. Pure; the
/// ``AggregatorStateMachine`` owns one and lends it its ``ReplicaChooser``.
struct StreamSessions: Sendable {
    var context: StreamContext
    /// Subscription name → the subscription.
    private(set) var subscriptions: [String: StreamSubscription] = [:]
    private(set) var sessions: [String: StreamSession] = [:]

    init(context: StreamContext) { self.context = context }

    /// A retained `streams/{name}` message (nil: cleared, the subscription ends). A subscription
    /// naming a task that cannot run on frames is refused with an error and not kept.
    mutating func subscription(_ name: String, _ subscription: StreamSubscription?, nowMs: Double) -> [StreamSession.Output] {
        let before = subscriptions[name]?.source
        subscriptions[name] = nil
        var out: [StreamSession.Output] = []
        if let subscription {
            let context = context
            let refusal = subscription.tasks.compactMap { entry in context.problem(task: entry.task, inputs: entry.inputs).map { (entry.task, $0) } }.first
            if let (task, problem) = refusal {
                out.append(.error(context.error(nil, task: task, .badInput, "stream subscription '\(name)' is refused: \(problem)", nowMs: nowMs)))
            } else {
                subscriptions[name] = subscription
            }
        }
        for source in Set([before, subscription?.source].compactMap { $0 }) { replan(source) }
        return out
    }

    /// Recomputes a source's tasks from the subscriptions naming it (the first subscription by
    /// name gives a task's inputs; the highest rate wins).
    private mutating func replan(_ source: String) {
        var plans: [String: StreamSession.TaskPlan] = [:]
        for (_, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) where subscription.source == source {
            let interval = subscription.maxResultsPerSecond.map { 1000 / $0 } ?? 0
            for entry in subscription.tasks {
                if var plan = plans[entry.task] {
                    plan.intervalMs = min(plan.intervalMs, interval)
                    plans[entry.task] = plan
                } else {
                    plans[entry.task] = StreamSession.TaskPlan(inputs: entry.inputs, intervalMs: interval)
                }
            }
        }
        if plans.isEmpty, sessions[source]?.isBusy != true {
            sessions[source] = nil
            return
        }
        sessions[source, default: StreamSession(source: source)].plans = plans
        if plans.isEmpty {
            // Ended while busy: what waits is not run (results stop at once).
            sessions[source]?.waiting = nil
            sessions[source]?.queued = []
            sessions[source]?.audio?.waiting = []
        }
    }

    /// A frame on `sources/{source}/frames`; ignored when no subscription names the source.
    mutating func frame(_ frame: StreamFrame, image: [UInt8], router: inout ReplicaChooser, nowMs: Double) -> [StreamSession.Output] {
        guard var session = sessions[frame.source], !session.plans.isEmpty else { return [] }
        let out = session.receive(frame, image: image, context: &context, router: &router, nowMs: nowMs)
        sessions[frame.source] = session
        return out
    }

    /// An audio chunk on `sources/{source}/audio`; ignored when no subscription names the source.
    mutating func audio(_ chunk: AudioChunk, payload: [UInt8], router: inout ReplicaChooser, nowMs: Double) -> [StreamSession.Output] {
        guard var session = sessions[chunk.source], !session.plans.isEmpty else { return [] }
        let out = session.receive(chunk, payload: payload, context: &context, router: &router, nowMs: nowMs)
        sessions[chunk.source] = session
        return out
    }

    /// A frame or chunk whose properties could not be read: counted as a bad frame of its source.
    mutating func badFrame(source: String) {
        sessions[source]?.figures.dropped("bad-frame")
    }

    /// The source said `offline` (its last will or a shutdown): its stream ends — the waiting frame
    /// is dropped (`ended`), the frames in flight still finish, a microphone's audio already
    /// received is still heard to its end (the open utterance ends `source-ended`), the figures
    /// stay until the source is back.
    mutating func sourceOffline(_ source: String, router: inout ReplicaChooser, nowMs: Double) -> [StreamSession.Output] {
        guard var session = sessions[source], session.online else { return [] }
        session.online = false
        session.dropWaiting("ended")
        let out = session.endAudio(context: &context, router: &router, nowMs: nowMs)
        sessions[source] = session
        return out
    }

    /// The source said `online` after having ended: its stream starts over (new figures and sequence).
    mutating func sourceOnline(_ source: String) {
        guard var session = sessions[source], !session.online else { return }
        session.restart()
        sessions[source] = session
    }

    /// The source whose stream has an execution (a frame or utterance, or a VAD block) under `requestID`.
    func owner(of requestID: String) -> String? {
        sessions.first { $0.value.owns(requestID) }?.key
    }

    /// Runs `event` on every execution in flight (or only `source`'s, only the one under
    /// `requestID`), then starts waiting frames and queued utterances whose tasks are free.
    mutating func forEach(
        source: String? = nil, requestID: String? = nil, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [StreamSession.Output] {
        var out: [StreamSession.Output] = []
        let only = source ?? requestID.flatMap(owner(of:))
        for source in sessions.keys.sorted() where only == nil || only == source {
            guard var session = sessions[source], session.hasWork else { continue }
            out += session.advance(requestID: requestID, context: &context, router: &router, nowMs: nowMs, event)
            sessions[source] = session.plans.isEmpty && !session.isBusy ? nil : session
        }
        return out
    }

    /// Telemetry of every stream.
    func telemetry(nowMs: Double) -> [StreamTelemetry] {
        sessions.keys.sorted().map { source in
            let session = sessions[source]!
            var report = session.figures.telemetry(source: source, aggregator: context.settings.aggregator, nowMs: nowMs)
            report.sourceOnline = session.online
            report.utterances = session.audio?.utterances
            return report
        }
    }
}
