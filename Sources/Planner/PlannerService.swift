import Foundation
import Logging
import MQTTBus
import PlacementPlanning
import S2M3Bus
import S2M3Core
import ServiceLifecycle
import ServiceSupport

/// Runs a ``PlannerStateMachine`` over an MQTT connection: reads every device's state,
/// capabilities and telemetry and the retained plan, and publishes a new retained plan and one
/// retained assignment per device whenever the set of live devices changes (a join, a clean
/// leave, or a last will), after a short debounce that lets a burst of changes make one plan.
///
/// Plans are made one at a time by a child task of ``run()``; each placement is solved on a thread
/// of its own (never on the cooperative pool) within ``solveLimit``.
///
/// Presence (topics.md, `planners/{planner}/state` and `…/telemetry`): the connection must be
/// configured with the will of its ``ServicePresence`` (``ServicePresence/will()``); the planner says
/// `online` once subscribed (again after a reconnect) and publishes telemetry about once a second.
///
/// A ServiceLifecycle `Service`: on graceful shutdown it makes no new plan, lets a publication in
/// progress finish, says `offline` (reason `shutdown`), and disconnects.
public actor PlannerService: Service {
    let connection: MQTTConnection
    private let topics: Topics
    private let debounce: Duration
    var logger: Logger
    private var machine: PlannerStateMachine
    /// A change that may need a plan (the newest wake is enough: the planner plans for the present).
    private let changes: AsyncStream<Void>
    private let changed: AsyncStream<Void>.Continuation
    /// The connection came back: publish the plan and assignments again before the next decision.
    private var republishPending = false
    /// Idle while no plan is being made or published.
    private let planning = IdleSignal()
    /// This run's identity on the bus (state, will, telemetry).
    let presence: ServicePresence
    let telemetryInterval: Duration
    /// Plans published by this run, and when and how fast the last one was made.
    private var replans = 0
    private var lastSolveMs: Double?
    private var lastPlanAtMs: Int?
    /// Set once `offline` is being said: no telemetry after it.
    private var saidOffline = false
    private let metrics = PlannerMetrics()
    /// With the dynamic-security plugin: the devices' grants (nil: the broker's rules are not managed).
    var access: PlanAccess?
    /// Batches of plugin commands waiting for their answers: command count and the waiter.
    var accessWaiters: [String: (Int, CheckedContinuation<[DynamicSecurityResponse]?, Never>)] = [:]
    var accessBatches = 0
    /// The most one decision's solves may take together (``PlacementOptions/deadline``).
    public static let solveLimit: Duration = .seconds(3)

    /// - Parameters:
    ///   - connection: connected or not; ``run()`` connects it.
    ///   - debounce: wait after a change before planning (also the wait for retained messages at start).
    ///   - digests: module id → catalog digest for the assignments (``CatalogPlacement/digests``).
    ///   - presence: its id and session on the bus (default: id `planner`, a fresh session).
    ///   - dynamicSecurity: administer Mosquitto's dynamic-security plugin so that each device may
    ///     receive only the invocations of the modules the plan gives it (the connection's identity
    ///     must be the plugin's administrator; docs/security.md).
    ///   - learning: when costs learned from telemetry re-plan (docs/placement.md).
    public init(
        connection: MQTTConnection, instance: PlacementInstance, algorithm: PlacementAlgorithm = .auto,
        topics: Topics = Topics(), debounce: Duration = .milliseconds(150), digests: [String: String] = [:],
        presence: ServicePresence? = nil, telemetryInterval: Duration = .seconds(1), dynamicSecurity: Bool = false,
        learning: PlannerStateMachine.LearningPolicy = .init(), logger: Logger
    ) {
        access = dynamicSecurity ? PlanAccess(topics: topics) : nil
        self.connection = connection
        self.presence = presence ?? ServicePresence(role: .planner, id: "planner", topics: topics)
        self.telemetryInterval = telemetryInterval
        self.topics = topics
        self.debounce = debounce
        self.logger = logger
        machine = PlannerStateMachine(instance: instance, algorithm: algorithm, digests: digests)
        machine.learning = learning
        (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The last plan published or adopted.
    public var currentPlan: PlanMessage? { machine.currentPlan }

    /// Subscribes and plans until graceful shutdown, the connection's end, or cancellation.
    public func run() async throws {
        try await connection.connect()
        let stream = connection.messages
        if access != nil { try await connection.subscribe(Topics.dynamicSecurityResponses) }
        // The plan first, so a retained plan is known before the retained device states.
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.allDeviceStates)
        try await connection.subscribe(topics.allDeviceCapabilities)
        try await connection.subscribe(topics.allDeviceTelemetry, on: topics)
        try await connection.subscribe(topics.allAggregatorTelemetry, on: topics)
        try await connection.publish(presence.state(.online))
        let (changes, changed, connection, planning) = (changes, changed, connection, planning)
        let events = connection.events
        await withTaskGroup(of: Void.self) { group in
            // After a reconnect (subscriptions already restored by MQTTBus) the broker has published
            // the will, and it may have restarted without its retained messages: announce again, and
            // publish again what this planner owns (plan and assignments). One reader of the events.
            group.addTask { [presence] in
                for await event in events {
                    guard case .reconnected = event else { continue }
                    try? await connection.publish(presence.state(.online))
                    await self.republishAfterReconnect()
                }
            }
            // One plan at a time: a change during a plan wakes this loop again afterwards.
            group.addTask { [debounce] in
                for await _ in changes {
                    try? await Task.sleep(for: debounce)
                    await self.planNow()
                }
            }
            group.addTask { [telemetryInterval] in
                while !Task.isCancelled {
                    await self.publishTelemetry()
                    try? await Task.sleep(for: telemetryInterval)
                }
            }
            group.addTask { [presence, logger] in
                guard (try? await gracefulShutdown()) != nil else { return }
                changed.finish()
                await planning.wait(timeout: Self.solveLimit + .seconds(5))
                await self.stopTelemetry()
                do {
                    try await connection.publish(presence.shutdown())
                } catch {
                    logger.warning("offline state not published: \(error)")
                }
                await connection.disconnect()
            }
            changed.yield()  // the first decision, after the retained messages (debounce)
            for await message in stream {
                if Task.isCancelled { break }
                receive(message)
            }
            changed.finish()
            group.cancelAll()
        }
    }

    private func receive(_ message: MQTTMessage) {
        if message.topic == Topics.dynamicSecurityResponses {
            receiveAccessAnswers(message.payload)
            return
        }
        if message.payload.isEmpty {
            // A cleared retained state forgets its device; other cleared topics mean nothing here.
            if let device = topics.device(fromDeviceTopic: message.topic), message.topic == topics.deviceState(device),
                machine.handle(.stateCleared(device: device))
            {
                changed.yield()
            }
            return
        }
        let event: PlannerStateMachine.Event?
        var source: String?
        do {
            if message.topic == topics.plan {
                event = .retainedPlan(try PlanMessage(json: message.payload))
            } else if let device = topics.device(fromDeviceTopic: message.topic) {
                source = device
                switch message.topic {
                case topics.deviceState(device): event = .state(try DeviceState(json: message.payload))
                case topics.deviceCapabilities(device): event = .capabilities(try DeviceCapabilities(json: message.payload))
                case topics.deviceTelemetry(device): event = .telemetry(try DeviceTelemetry(json: message.payload))
                default: event = nil
                }
            } else if let aggregator = topics.aggregator(fromAggregatorTopic: message.topic),
                message.topic == topics.aggregatorTelemetry(aggregator)
            {
                let report = try AggregatorTelemetry(json: message.payload)
                guard report.aggregator == aggregator else {
                    logger.warning("ignoring aggregator telemetry naming another aggregator than its topic: \(message.topic)")
                    return
                }
                event = .aggregatorTelemetry(report)
            } else {
                event = nil
            }
        } catch {
            logger.warning("ignoring an invalid message on \(message.topic): \(error)")
            return
        }
        guard let event else { return }
        guard let source else {
            if machine.handle(event) { changed.yield() }
            return
        }
        switch machine.handle(event, fromTopicOf: source) {
        case .some(true): changed.yield()
        case .some(false): break
        case .none:
            logger.warning("ignoring a message naming another device than its topic: \(message.topic) names \(event.device ?? "-")")
        }
    }

    private func republishAfterReconnect() {
        logger.info("reconnected; publishing the plan and assignments again")
        republishPending = true
        access?.forget()  // the broker may have restarted with the rules of its file
        changed.yield()
    }

    /// Solves off the cooperative pool and publishes in order. Only the planning loop calls it, so
    /// publications never interleave; a change meanwhile wakes the loop again.
    private func planNow() async {
        if republishPending {
            republishPending = false
            planning.update(idle: false)
            await publish(machine.republication(nowMs: WallClock.milliseconds))
            planning.update(idle: true)
        }
        guard let job = machine.beginPlan() else {
            // A plan adopted unchanged (a restart): its devices' grants are brought to it once.
            if let plan = machine.currentPlan, let access, !access.knows(PlanAccess.hosted(by: plan)) {
                planning.update(idle: false)
                await syncAccess(to: PlanAccess.hosted(by: plan), widening: false)
                planning.update(idle: true)
            }
            return
        }
        planning.update(idle: false)
        defer { planning.update(idle: true) }
        let started = ContinuousClock.now
        let deadline = started + Self.solveLimit
        let solved = await runOffPool("s2m3-placement") { job.solve(deadline: deadline) }
        let took = ContinuousClock.now - started
        lastSolveMs = Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15
        metrics.solved(in: took)
        let actions = machine.finishPlan(job, solved, nowMs: WallClock.milliseconds)
        if job.costDriven {
            let speed = job.live.map(\.gflops).min() ?? 1
            let learned = machine.plannedCosts.moduleGflop.sorted { $0.key < $1.key }
                .map { "\($0.key) \(String(format: "%.1f", $0.value / speed * 1000)) ms" }.joined(separator: ", ")
            let link = machine.plannedCosts.linkLatencyMs.map { String(format: "%.2f ms", $0) } ?? "as declared"
            logger.info("planning with learned costs (at \(String(format: "%.0f", speed)) GFLOP/s): link \(link); \(learned)")
        }
        if case .publishPlan(let plan)? = actions.first {
            replans += 1
            lastPlanAtMs = plan.createdAtMs
        }
        await publish(actions)
        // Changes that arrived while solving or publishing.
        if machine.needsPlan { changed.yield() }
    }

    private func publish(_ actions: [PlannerStateMachine.Action]) async {
        // Grants widened before the plan is published, narrowed to it after (PlanAccess).
        let target = actions.lazy.compactMap { if case .publishPlan(let plan) = $0 { PlanAccess.hosted(by: plan) } else { nil } }.first
        if let target { await syncAccess(to: target, widening: true) }
        for action in actions {
            do {
                switch action {
                case .publishPlan(let plan):
                    logger.info("plan epoch \(plan.epoch) for \(plan.devices), \(plan.moves.count) move(s)")
                    try await connection.publish(MQTTMessage(topic: topics.plan, control: plan, on: topics))
                    metrics.published(plan)
                case .publishAssignment(let assignment):
                    try await connection.publish(
                        MQTTMessage(topic: topics.deviceAssignment(assignment.device), control: assignment, on: topics))
                case .clearAssignment(let device):
                    try await connection.publish(MQTTMessage.clearing(topics.deviceAssignment(device), on: topics))
                }
            } catch {
                logger.error("publishing failed: \(error)")
            }
        }
        if let target { await syncAccess(to: target, widening: false) }
    }
}

extension PlannerService {
    /// The telemetry now (also what is published).
    public func telemetry() -> PlannerTelemetry {
        PlannerTelemetry(
            planner: presence.id, timestampMs: ServicePresence.nowMs(), epoch: machine.currentPlan?.epoch,
            liveDevices: machine.liveDevices.map(\.id), replans: replans, lastSolveMs: lastSolveMs, lastPlanAtMs: lastPlanAtMs)
    }

    private func stopTelemetry() {
        saidOffline = true
    }

    private func publishTelemetry() async {
        guard !saidOffline else { return }
        do {
            try await connection.publish(presence.telemetry(telemetry()))
        } catch {
            logger.debug("telemetry not sent: \(error)")
        }
    }
}
