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
/// of its own (never on the cooperative pool) within ``solveLimit``. A ServiceLifecycle `Service`:
/// on graceful shutdown it makes no new plan, lets a publication in progress finish, and disconnects.
public actor PlannerService: Service {
    private let connection: MQTTConnection
    private let topics: Topics
    private let debounce: Duration
    private var logger: Logger
    private var machine: PlannerStateMachine
    /// A change that may need a plan (the newest wake is enough: the planner plans for the present).
    private let changes: AsyncStream<Void>
    private let changed: AsyncStream<Void>.Continuation
    /// Idle while no plan is being made or published.
    private let planning = IdleSignal()
    private let metrics = PlannerMetrics()
    /// The most one decision's solves may take together (``PlacementOptions/deadline``).
    public static let solveLimit: Duration = .seconds(3)

    /// - Parameters:
    ///   - connection: connected or not; ``run()`` connects it.
    ///   - debounce: wait after a change before planning (also the wait for retained messages at start).
    ///   - digests: module id → catalog digest for the assignments (``CatalogPlacement/digests``).
    public init(
        connection: MQTTConnection, instance: PlacementInstance, algorithm: PlacementAlgorithm = .auto,
        topics: Topics = Topics(), debounce: Duration = .milliseconds(150), digests: [String: String] = [:],
        logger: Logger
    ) {
        self.connection = connection
        self.topics = topics
        self.debounce = debounce
        self.logger = logger
        machine = PlannerStateMachine(instance: instance, algorithm: algorithm, digests: digests)
        (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The last plan published or adopted.
    public var currentPlan: PlanMessage? { machine.currentPlan }

    /// Subscribes and plans until graceful shutdown, the connection's end, or cancellation.
    public func run() async throws {
        try await connection.connect()
        let stream = connection.messages
        // The plan first, so a retained plan is known before the retained device states.
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.allDeviceStates)
        try await connection.subscribe(topics.allDeviceCapabilities)
        try await connection.subscribe(topics.allDeviceTelemetry, qos: .atMostOnce)
        let (changes, changed, connection, planning) = (changes, changed, connection, planning)
        await withTaskGroup(of: Void.self) { group in
            // One plan at a time: a change during a plan wakes this loop again afterwards.
            group.addTask { [debounce] in
                for await _ in changes {
                    try? await Task.sleep(for: debounce)
                    await self.planNow()
                }
            }
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                changed.finish()
                await planning.wait(timeout: Self.solveLimit + .seconds(5))
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
        guard !message.payload.isEmpty else { return }  // a cleared retained topic
        let event: PlannerStateMachine.Event?
        do {
            if message.topic == topics.plan {
                event = .retainedPlan(try PlanMessage(json: message.payload))
            } else if let device = topics.device(fromDeviceTopic: message.topic) {
                switch message.topic {
                case topics.deviceState(device): event = .state(try DeviceState(json: message.payload))
                case topics.deviceCapabilities(device): event = .capabilities(try DeviceCapabilities(json: message.payload))
                case topics.deviceTelemetry(device): event = .telemetry(try DeviceTelemetry(json: message.payload))
                default: event = nil
                }
            } else {
                event = nil
            }
        } catch {
            logger.warning("ignoring an invalid message on \(message.topic): \(error)")
            return
        }
        guard let event else { return }
        if machine.handle(event) { changed.yield() }
    }

    /// Solves off the cooperative pool and publishes in order. Only the planning loop calls it, so
    /// publications never interleave; a change meanwhile wakes the loop again.
    private func planNow() async {
        guard let job = machine.beginPlan() else { return }
        planning.update(idle: false)
        defer { planning.update(idle: true) }
        let deadline = ContinuousClock.now + Self.solveLimit
        let started = ContinuousClock.now
        let solved = await runOffPool("s2m3-placement") { job.solve(deadline: deadline) }
        metrics.solved(in: ContinuousClock.now - started)
        let actions = machine.finishPlan(job, solved, nowMs: Int(Date().timeIntervalSince1970 * 1000))
        for action in actions {
            do {
                switch action {
                case .publishPlan(let plan):
                    logger.info("plan epoch \(plan.epoch) for \(plan.devices), \(plan.moves.count) move(s)")
                    try await connection.publish(MQTTMessage(topic: topics.plan, control: plan, retain: true))
                    metrics.published(plan)
                case .publishAssignment(let assignment):
                    try await connection.publish(
                        MQTTMessage(topic: topics.deviceAssignment(assignment.device), control: assignment, retain: true))
                case .clearAssignment(let device):
                    try await connection.publish(MQTTMessage(topic: topics.deviceAssignment(device), payload: [], retain: true))
                }
            } catch {
                logger.error("publishing failed: \(error)")
            }
        }
        // Changes that arrived while solving or publishing.
        if machine.needsPlan { changed.yield() }
    }
}
