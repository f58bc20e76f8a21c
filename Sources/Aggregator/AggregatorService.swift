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
/// Publications go through one ordered outbox drained by a child task, so handling a message never
/// waits for the broker; a ticker child task drives deadlines, invocation timeouts and back-offs.
///
/// A ServiceLifecycle `Service`: on graceful shutdown it leaves the shared subscription, lets the
/// requests in flight finish (up to ``AggregatorConfiguration/drainTimeout``), disconnects, and
/// ``run()`` returns.
public actor AggregatorService: Service {
    private let connection: MQTTConnection
    private let configuration: AggregatorConfiguration
    private var machine: AggregatorStateMachine
    private let logger: Logger
    private var outbox: AsyncStream<MQTTMessage>.Continuation?
    /// Messages handed to the outbox and not yet published.
    private var unpublished = 0
    /// Idle when no request is in flight and nothing waits in the outbox (what draining waits for).
    private let idle = IdleSignal()
    private let onReady: @Sendable () -> Void
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
        machine = try AggregatorStateMachine(configuration: configuration, catalog: catalog)
        metrics = AggregatorMetrics(tasks: catalog.tasks.map(\.id))
    }

    /// Counters since start.
    public var statistics: AggregatorStateMachine.Statistics { machine.statistics }
    /// The epoch of the plan in use (nil before the first plan).
    public var planEpoch: Int? { machine.router.plan?.epoch }
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
        try await connection.subscribe(topics.allDeviceTelemetry, qos: .atMostOnce)
        try await connection.subscribe(topics.aggregatorPartials(configuration.id))
        try await connection.subscribe(topics.sharedRequests(group: configuration.group))
        let (messages, continuation) = AsyncStream.makeStream(of: MQTTMessage.self)
        outbox = continuation
        logger.info("aggregator serving", metadata: ["aggregator.id": "\(configuration.id)", "mqtt.group": "\(configuration.group)"])
        onReady()
        let connection = connection
        let logger = logger
        let tick = configuration.tickInterval
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in messages {
                    do {
                        try await connection.publish(message)
                    } catch {
                        logger.warning("publish failed", metadata: ["mqtt.topic": "\(message.topic)", "error": "\(error)"])
                    }
                    await self.published()
                }
            }
            group.addTask { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    await self?.tick()
                }
            }
            group.addTask { [drainTimeout = configuration.drainTimeout] in
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.drain(timeout: drainTimeout)
                await connection.disconnect()
            }
            for await message in stream {
                if Task.isCancelled { break }
                receive(message)
            }
            continuation.finish()
            group.cancelAll()
        }
        outbox = nil
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
    }

    private func tick() {
        perform(machine.tick(nowMs: Self.nowMs()))
    }

    private func receive(_ message: MQTTMessage) {
        let topics = configuration.topics
        let now = Self.nowMs()
        if let task = topics.task(fromRequestTopic: message.topic) {
            perform(machine.receiveRequest(
                task: task, payload: message.payload, properties: MessageProperties(message.properties),
                retained: message.retain, nowMs: now))
            return
        }
        guard !message.payload.isEmpty else { return }  // a cleared retained topic
        do {
            if message.topic == topics.aggregatorPartials(configuration.id) {
                let bundle = try TensorBundle(decoding: message.payload)
                let partial = try PartialResult(bundle: bundle)
                perform(machine.receivePartial(partial, outputs: bundle, nowMs: now))
            } else if message.topic == topics.plan {
                let plan = try PlanMessage(json: message.payload)
                perform(machine.receivePlan(plan, nowMs: now))
                metrics.plan(epoch: plan.epoch)
                logger.debug("plan", metadata: ["plan.epoch": "\(plan.epoch)"])
            } else if let device = topics.device(fromDeviceTopic: message.topic) {
                if message.topic == topics.deviceState(device) {
                    perform(machine.receiveState(try DeviceState(json: message.payload), nowMs: now))
                } else if message.topic == topics.deviceTelemetry(device) {
                    machine.receiveTelemetry(try DeviceTelemetry(json: message.payload))
                }
            }
        } catch {
            logger.warning("ignoring an unreadable message", metadata: ["mqtt.topic": "\(message.topic)", "error": "\(error)"])
        }
    }

    private func perform(_ actions: [AggregatorAction]) {
        defer {
            updateIdle()
            metrics.update(machine.statistics, activeRequests: machine.activeRequests)
        }
        let topics = configuration.topics
        for action in actions {
            do {
                switch action {
                case .invoke(let invocation):
                    let request = invocation.request
                    metrics.sent(invocation)
                    let payload = try request.bundle(inputs: invocation.arguments).encoded()
                    send(MQTTMessage(
                        topic: topics.moduleInvoke(module: request.module, device: invocation.device), payload: payload,
                        properties: MQTTProperties(request.properties(topics: topics, nowMs: Int(Self.nowMs())))))
                case .result(let result, let reply):
                    metrics.answered(result)
                    let properties = result.properties(correlationData: reply.correlationData, traceparent: reply.traceparent)
                    send(try MQTTMessage(topic: topics.results(result.task), control: result, properties: properties))
                    if let topic = reply.responseTopic {
                        send(try MQTTMessage(topic: topic, control: result, properties: properties))
                    }
                    logger.debug("result", metadata: ["request.id": "\(result.requestID)", "result.totalMs": "\(result.totalMs)"])
                case .error(let error, let reply, let onTaskTopic):
                    metrics.answered(error)
                    let properties = error.properties(correlationData: reply.correlationData, traceparent: reply.traceparent)
                    if onTaskTopic { send(try MQTTMessage(topic: topics.errors(error.task), control: error, properties: properties)) }
                    if let topic = reply.responseTopic {
                        send(try MQTTMessage(topic: topic, control: error, properties: properties))
                    }
                    logger.info("request failed", metadata: [
                        "request.id": "\(error.requestID ?? "-")", "task.id": "\(error.task)", "error.code": "\(error.code)",
                        "error.reason": "\(error.reason)",
                    ])
                }
            } catch {
                logger.error("cannot build a publication", metadata: ["error": "\(error)"])
            }
        }
    }

    private func send(_ message: MQTTMessage) {
        guard let outbox else { return }
        unpublished += 1
        outbox.yield(message)
    }

    static func nowMs() -> Double { Date().timeIntervalSince1970 * 1000 }
}
