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
        if plans.isEmpty, sessions[source]?.running.isEmpty ?? true {
            sessions[source] = nil
            return
        }
        sessions[source, default: StreamSession(source: source)].plans = plans
    }

    /// A frame on `sources/{source}/frames`; ignored when no subscription names the source.
    mutating func frame(_ frame: StreamFrame, image: [UInt8], router: inout ReplicaChooser, nowMs: Double) -> [StreamSession.Output] {
        guard var session = sessions[frame.source], !session.plans.isEmpty else { return [] }
        let out = session.receive(frame, image: image, context: &context, router: &router, nowMs: nowMs)
        sessions[frame.source] = session
        return out
    }

    /// A frame whose properties could not be read: counted as a bad frame of its source.
    mutating func badFrame(source: String) {
        sessions[source]?.figures.dropped("bad-frame")
    }

    /// The source said `offline` (its last will or a shutdown): its stream ends — the waiting frame
    /// is dropped (`ended`), the frames in flight still finish, the figures stay until the source
    /// is back.
    mutating func sourceOffline(_ source: String) {
        guard var session = sessions[source], session.online else { return }
        session.online = false
        session.dropWaiting("ended")
        sessions[source] = session
    }

    /// The source said `online` after having ended: its stream starts over (new figures and sequence).
    mutating func sourceOnline(_ source: String) {
        guard var session = sessions[source], !session.online else { return }
        session.online = true
        session.figures = StreamFigures()
        session.lastSequence = nil
        sessions[source] = session
    }

    /// The source whose stream has a frame in flight under `requestID`.
    func owner(of requestID: String) -> String? {
        sessions.first { $0.value.owns(requestID) }?.key
    }

    /// Runs `event` on every frame in flight (or only on the one under `requestID`), then starts
    /// waiting frames whose tasks are free.
    mutating func forEach(
        requestID: String? = nil, router: inout ReplicaChooser, nowMs: Double,
        _ event: (inout RequestExecution, inout ReplicaChooser) -> [RequestExecution.Action]
    ) -> [StreamSession.Output] {
        var out: [StreamSession.Output] = []
        let only = requestID.flatMap(owner(of:))
        for source in sessions.keys.sorted() where only == nil || only == source {
            guard var session = sessions[source], !session.running.isEmpty || session.waiting != nil else { continue }
            out += session.advance(requestID: requestID, context: &context, router: &router, nowMs: nowMs, event)
            sessions[source] = session.plans.isEmpty && session.running.isEmpty ? nil : session
        }
        return out
    }

    /// Telemetry of every stream.
    func telemetry(nowMs: Double) -> [StreamTelemetry] {
        sessions.keys.sorted().map { source in
            let session = sessions[source]!
            var report = session.figures.telemetry(source: source, aggregator: context.settings.aggregator, nowMs: nowMs)
            report.sourceOnline = session.online
            return report
        }
    }
}
