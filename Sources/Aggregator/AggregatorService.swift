import Catalog
import Foundation
import Logging
import MQTTBus
import S2M3Bus
import S2M3Core
import ServiceLifecycle
import ServiceSupport

/// Runs an ``AggregatorStateMachine`` over an MQTT connection (topics.md): takes requests through
/// the shared subscription, reads the plan, device states and telemetry and its own partials,
/// publishes invocations, results and errors. Anything unreadable on a topic it reads is logged and
/// skipped (requests are answered with an error); the service keeps serving.
///
/// Publications are handed to the connection in order as they are made (``MQTTConnection/send(_:acknowledged:)``),
/// so handling a message never waits for the broker and no publish waits for an earlier one's
/// acknowledgement; a child task counts the acknowledgements. A ticker child task drives
/// deadlines, invocation timeouts and back-offs every ``AggregatorConfiguration/tickInterval``
/// while requests or streams are in flight; otherwise it parks for up to
/// ``AggregatorConfiguration/idleTickInterval`` and the next request wakes it (an idle aggregator
/// costs next to no CPU).
///
/// Presence (topics.md, `aggregators/{aggregator}/state` and `…/telemetry`): the connection must be
/// configured with ``will(for:)`` as its will; the service says `online` once serving (again after
/// a reconnect) and publishes telemetry about once a second from a child task.
///
/// A ServiceLifecycle `Service`: on graceful shutdown it leaves the shared subscription, lets the
/// requests in flight finish (up to ``AggregatorConfiguration/drainTimeout``), says `offline`
/// (reason `shutdown`), disconnects, and ``run()`` returns.
public actor AggregatorService: Service {
    let connection: MQTTConnection
    let configuration: AggregatorConfiguration
    var machine: AggregatorStateMachine
    let logger: Logger
    /// Where sent publications' acknowledgements go (nil when not serving).
    private var sent: AsyncStream<(topic: String, error: MQTTError?)>.Continuation?
    /// Messages sent and not yet acknowledged by the broker.
    private var unpublished = 0
    /// Idle when no request is in flight and every sent message is acknowledged (what draining waits for).
    private let idle = IdleSignal()
    /// Idle when nothing waits on the clock (``AggregatorStateMachine/needsTicks``): the ticker parks on it.
    private let timing = IdleSignal()
    private let onReady: @Sendable () -> Void
    /// This run's identity on the bus (state, will, telemetry).
    let presence: ServicePresence
    /// Recent requests, results and errors, for the telemetry.
    var recent = RecentOutcomes()
    /// Ticks run since start (the ticker parks while nothing waits on the clock).
    public private(set) var ticks = 0
    /// Set once `offline` is being said: no telemetry after it.
    var saidOffline = false
    private var metrics: AggregatorMetrics

    /// - Parameters:
    ///   - connection: connected or not; ``run(onReady:)`` connects it.
    ///   - catalog: the tasks served (``AggregatorCatalog/load(path:)`` reads one without weights).
    ///   - onReady: called once subscribed and serving.
    public init(
        connection: MQTTConnection, catalog: ModuleCatalog, configuration: AggregatorConfiguration, logger: Logger,
        onReady: @escaping @Sendable () -> Void = {}
    ) throws(CatalogError) {
        self.connection = connection
        self.configuration = configuration
        self.logger = logger
        self.onReady = onReady
        presence = Self.presence(for: configuration)
        machine = try AggregatorStateMachine(configuration: configuration, catalog: catalog)
        metrics = AggregatorMetrics(tasks: catalog.tasks.map(\.id))
    }

    /// Counters since start.
    public var statistics: AggregatorStateMachine.Statistics { machine.statistics }
    /// The epoch of the plan in use (nil before the first plan).
    public var planEpoch: Int? { machine.router.plan?.epoch }
    /// What the service knows about replicas (plan, telemetry, suspected devices).
    public var replicaChooser: ReplicaChooser { machine.router }
    public var activeRequests: Int { machine.activeRequests }
    /// Invocations sent and not yet answered, over every device.
    public var outstandingInvocations: Int { machine.router.outstanding.values.reduce(0, +) }

    /// Subscribes, calls the `onReady` given at init, and serves until graceful shutdown (then
    /// drains and disconnects), until the connection's messages end, or until the task is cancelled.
    public func run() async throws {
        try await run(onReady: onReady)
    }

    /// ``run()`` calling `onReady` instead of the one given at init.
    public func run(onReady: @Sendable () -> Void) async throws {
        try await connection.connect()
        let topics = configuration.topics
        let stream = connection.messages
        try await connection.subscribe(topics.plan)
        try await connection.subscribe(topics.allDeviceStates)
        try await connection.subscribe(topics.allDeviceTelemetry, on: topics)
        try await connection.subscribe(topics.allAggregatorPartials(configuration.id))
        try await connection.subscribe(topics.sharedRequests(group: configuration.group))
        if configuration.streams { try await subscribeStreams() }
        let (acknowledgements, continuation) = AsyncStream.makeStream(of: (topic: String, error: MQTTError?).self)
        sent = continuation
        try await announce()
        logger.info("aggregator serving", metadata: ["aggregator.id": "\(configuration.id)", "mqtt.group": "\(configuration.group)"])
        onReady()
        let connection = connection
        let logger = logger
        let (tick, idleTick) = (configuration.tickInterval, configuration.idleTickInterval)
        let events = connection.events
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await (topic, error) in acknowledgements {
                    if let error { logger.warning("publish failed", metadata: ["mqtt.topic": "\(topic)", "error": "\(error)"]) }
                    await self.published()
                }
            }
            group.addTask { [weak self, timing] in
                while !Task.isCancelled {
                    if timing.isIdle { await timing.waitUntilBusy(timeout: idleTick) } else { try? await Task.sleep(for: tick) }
                    await self?.tick()
                }
            }
            group.addTask { [interval = configuration.telemetryInterval] in
                while !Task.isCancelled {
                    await self.publishTelemetry()
                    try? await Task.sleep(for: interval)
                }
            }
            // After a lost connection the broker has published the will: announce again.
            group.addTask {
                for await event in events {
                    guard case .reconnected = event else { continue }
                    try? await self.announce()
                }
            }
            group.addTask { [drainTimeout = configuration.drainTimeout] in
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.drain(timeout: drainTimeout)
                await self.sayOffline()
                await connection.disconnect()
            }
            for await message in stream {
                if Task.isCancelled { break }
                HopTrace.mark("aggregator.receive")
                receive(message)
                HopTrace.mark("aggregator.done")
            }
            continuation.finish()
            group.cancelAll()
        }
        sent = nil
    }

    /// Stops taking requests (leaves the shared subscription, so the group's other aggregators get
    /// them) and waits until every request in flight is answered and published, or `timeout` passes.
    /// Then disconnect the connection (``run(onReady:)`` returns) or cancel the task running it.
    public func drain(timeout: Duration = .seconds(5)) async {
        do {
            try await connection.unsubscribe(configuration.topics.sharedRequests(group: configuration.group))
        } catch {
            logger.warning("cannot leave the shared subscription", metadata: ["error": "\(error)"])
        }
        // Woken by the idle signal, re-checked here (work can arrive between the two).
        let end = ContinuousClock.now + timeout
        while !isIdle, ContinuousClock.now < end {
            updateIdle()
            await idle.wait(timeout: end - ContinuousClock.now)
        }
        logger.info("aggregator drained", metadata: ["requests.abandoned": "\(machine.activeRequests)"])
    }

    private func published() {
        unpublished -= 1
        updateIdle()
    }

    private var isIdle: Bool { machine.activeRequests == 0 && unpublished == 0 }

    private func updateIdle() {
        idle.update(idle: isIdle)
        timing.update(idle: !machine.needsTicks)
    }

    private func tick() {
        ticks += 1
        perform(machine.tick(nowMs: Self.nowMs()))
    }

    private func receive(_ message: MQTTMessage) {
        let topics = configuration.topics
        let now = Self.nowMs()
        if let task = topics.task(fromRequestTopic: message.topic) {
            if !message.retain { recent.request(nowMs: now) }
            let actions = machine.receiveRequest(
                task: task, payload: message.payload, properties: MessageProperties(message.properties), retained: message.retain, nowMs: now)
            HopTrace.mark("aggregator.routed")
            perform(actions)
            return
        }
        if configuration.streams, receiveStream(message, nowMs: now) { return }
        guard !message.payload.isEmpty else { return }  // a cleared retained topic
        do {
            if let sender = topics.device(fromPartialsTopic: message.topic, aggregator: configuration.id) {
                let bundle = try TensorBundle(decoding: message.payload)
                let partial = try PartialResult(bundle: bundle)
                // Only the topic proves the sender (the secure broker lets only that device write it).
                guard partial.device == sender else { return rejectImpersonation(message.topic, claimed: partial.device) }
                HopTrace.mark("aggregator.decoded")
                let actions = machine.receivePartial(partial, outputs: bundle, nowMs: now)
                HopTrace.mark("aggregator.routed")
                perform(actions)
            } else if message.topic == topics.plan {
                let plan = try PlanMessage(json: message.payload)
                perform(machine.receivePlan(plan, nowMs: now))
                metrics.plan(epoch: plan.epoch)
                logger.debug("plan", metadata: ["plan.epoch": "\(plan.epoch)"])
            } else if let device = topics.device(fromDeviceTopic: message.topic) {
                if message.topic == topics.deviceState(device) {
                    let state = try DeviceState(json: message.payload)
                    guard state.device == device else { return rejectImpersonation(message.topic, claimed: state.device) }
                    perform(machine.receiveState(state, nowMs: now))
                } else if message.topic == topics.deviceTelemetry(device) {
                    let report = try DeviceTelemetry(json: message.payload)
                    guard report.device == device else { return rejectImpersonation(message.topic, claimed: report.device) }
                    machine.receiveTelemetry(report, nowMs: now)
                }
            }
        } catch {
            logger.warning("ignoring an unreadable message", metadata: ["mqtt.topic": "\(message.topic)", "error": "\(error)"])
        }
    }

    /// A message on one device's topic that names another device: dropped (docs/security.md).
    private func rejectImpersonation(_ topic: String, claimed: String) {
        logger.warning("ignoring a message naming another device than its topic", metadata: ["mqtt.topic": "\(topic)", "device.claimed": "\(claimed)"])
    }

    func perform(_ actions: [AggregatorAction]) {
        defer {
            updateIdle()
            metrics.update(machine.statistics, activeRequests: machine.activeRequests, byTask: machine.inFlightByTask)
        }
        let topics = configuration.topics
        for action in actions {
            do {
                switch action {
                case .invoke(let invocation):
                    let request = invocation.request
                    metrics.sent(invocation)
                    let payload = try request.bundle(inputs: invocation.arguments).encoded()
                    HopTrace.mark("aggregator.encoded")
                    send(try MQTTMessage(
                        topic: topics.moduleInvoke(module: request.module, device: invocation.device), payload: payload,
                        properties: MQTTProperties(request.properties(topics: topics, device: invocation.device, nowMs: Int(Self.nowMs()))),
                        on: topics))
                case .result(let result, _):
                    metrics.answered(result)
                    recent.result(result, nowMs: Self.nowMs())
                    for message in try action.answerMessages(topics: topics) { send(message) }
                    logger.debug("result", metadata: ["request.id": "\(result.requestID)", "result.totalMs": "\(result.totalMs)"])
                case .streamResult(let result):
                    guard let source = result.frame?.source ?? result.utterance?.source else { continue }
                    recent.result(nowMs: Self.nowMs())
                    send(try MQTTMessage(topic: topics.streamResults(result.task, source: source), control: result, on: topics))
                case .error(let error, _, _):
                    recent.error(error.code, nowMs: Self.nowMs())
                    metrics.answered(error)
                    for message in try action.answerMessages(topics: topics) { send(message) }
                    // Refusals under overload come by the thousand: below info.
                    logger.log(level: error.code == .overloaded ? .debug : .info, "request failed", metadata: [
                        "request.id": "\(error.requestID ?? "-")", "task.id": "\(error.task)", "error.code": "\(error.code)",
                        "error.reason": "\(error.reason)",
                    ])
                case .answeredAgain:
                    // Counted once already, when first answered (and the repeat as a duplicate).
                    for message in try action.answerMessages(topics: topics) { send(message) }
                    logger.debug("answered a repeated request again")
                }
            } catch {
                logger.error("cannot build a publication", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Hands `message` to the connection at once, in order: a request's invocations and answers
    /// do not wait for earlier publishes' acknowledgements (``published()`` counts those).
    private func send(_ message: MQTTMessage) {
        guard let sent else { return }
        unpublished += 1
        do {
            try connection.send(message) { [topic = message.topic] error in sent.yield((topic, error)) }
        } catch {
            sent.yield((message.topic, error))
        }
    }

    static func nowMs() -> Double { Date().timeIntervalSince1970 * 1000 }
}
