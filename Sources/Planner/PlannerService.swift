import Foundation
import Logging
import MQTTBus
import PlacementPlanning
import S2M3Bus
import S2M3Core

/// Runs a ``PlannerStateMachine`` over an MQTT connection: reads every device's state,
/// capabilities and telemetry and the retained plan, and publishes a new retained plan and one
/// retained assignment per device whenever the set of live devices changes (a join, a clean
/// leave, or a last will), after a short debounce that lets a burst of changes make one plan.
public actor PlannerService {
    private let connection: MQTTConnection
    private let topics: Topics
    private let debounce: Duration
    private var logger: Logger
    private var machine: PlannerStateMachine
    private var pending: Task<Void, Never>?

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
    }

    /// The last plan published or adopted.
    public var currentPlan: PlanMessage? { machine.currentPlan }

    /// Subscribes and plans until the connection's messages end or the task is cancelled.
    public func run() async throws {
        try await connection.connect()
        let stream = connection.messages
        // The plan first, so a retained plan is known before the retained device states.
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.allDeviceStates)
        try await connection.subscribe(topics.allDeviceCapabilities)
        try await connection.subscribe(topics.allDeviceTelemetry, qos: .atMostOnce)
        schedule()
        for await message in stream {
            if Task.isCancelled { break }
            receive(message)
        }
        pending?.cancel()
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
        if machine.handle(event) { schedule() }
    }

    private func schedule() {
        guard pending == nil else { return }
        pending = Task { [debounce] in
            try? await Task.sleep(for: debounce)
            await self.planNow()
        }
    }

    /// Publishes in order; `pending` stays set meanwhile, so a change that arrives during the
    /// awaits cannot start a second, interleaved publication (it is picked up below).
    private func planNow() async {
        let actions = machine.plan(nowMs: Int(Date().timeIntervalSince1970 * 1000))
        for action in actions {
            do {
                switch action {
                case .publishPlan(let plan):
                    logger.info("plan epoch \(plan.epoch) for \(plan.devices), \(plan.moves.count) move(s)")
                    try await connection.publish(MQTTMessage(topic: topics.plan, control: plan, retain: true))
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
        pending = nil
        // Changes that arrived while publishing.
        if machine.needsPlan { schedule() }
    }
}
