import Foundation
import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Core
import ServiceLifecycle
import ServiceSupport

/// Runs a device agent over an MQTT connection (topics.md, device topics). The decisions are
/// ``DeviceAgentStateMachine``'s: this shell feeds it bus messages, load and run completions,
/// deadlines and telemetry ticks, and carries out the actions it returns (publish, subscribe,
/// load, unload, run, cancel). ``shutdown()`` drains the queue, says `offline` (reason
/// `shutdown`) and disconnects.
///
/// The connection must be configured with ``will(for:)`` as its will, clean start, no session expiry.
/// A ServiceLifecycle `Service`: graceful shutdown runs ``shutdown()``, and ``run()`` returns.
public actor DeviceAgentService: Service {
    let connection: MQTTConnection
    let configuration: DeviceAgentConfiguration
    let loader: ModuleLoader
    let logger: Logger
    var topics: Topics { configuration.topics }
    var device: String { configuration.device }

    var machine: DeviceAgentStateMachine
    /// The loaded modules, by id (the machine decides which).
    var modules: [String: any LoadedModule] = [:]
    /// Ends the cancel stream of a running invocation, by ticket.
    var cancels: [UInt64: AsyncStream<Void>.Continuation] = [:]
    /// The earliest pending wake (Unix ms), nil when none is pending (``scheduleWake(_:)``).
    private var nextWakeMs: Double?
    let metrics: DeviceMetrics
    /// Loads and runs to start, each in a child task of ``run()``.
    let work: AsyncStream<Work>.Continuation
    private let pendingWork: AsyncStream<Work>
    /// Answers being published now; ``shutdown()`` lets them finish before it disconnects (a
    /// publish racing the disconnect could otherwise wait for an acknowledgement forever).
    var answersInFlight = 0 { didSet { updateIdle() } }
    /// Set just before disconnecting: nothing new is published.
    var closing = false
    /// Idle: nothing queued or running, no answer being published, no assignment being applied.
    private let idle = IdleSignal()
    /// No answer being published.
    private let answersDone = IdleSignal()

    /// How long ``shutdown()`` lets queued and running invocations finish.
    public static let drainLimit: Duration = .seconds(10)

    public init(connection: MQTTConnection, configuration: DeviceAgentConfiguration, loader: ModuleLoader, logger: Logger) {
        self.connection = connection
        self.configuration = configuration
        self.loader = loader
        var logger = logger
        logger[metadataKey: "device.id"] = "\(configuration.device)"
        self.logger = logger
        metrics = DeviceMetrics(device: configuration.device)
        metrics.budget(bytes: configuration.memoryBudgetBytes, baseBytes: configuration.baseMemoryBytes)
        let catalog = loader.catalog
        machine = DeviceAgentStateMachine(
            configuration: configuration,
            modules: catalog.modules.map { (id: $0.id, digest: $0.digest, sharedID: catalog.sharedID[$0.id] ?? $0.id) },
            cores: ProcessInfo.processInfo.activeProcessorCount)
        (pendingWork, work) = AsyncStream.makeStream(of: Work.self)
    }

    /// The last will to register on the agent's connection: its `offline` state, reason `last-will`.
    public static func will(for configuration: DeviceAgentConfiguration) throws(MessageError) -> MQTTMessage {
        let state = DeviceState.lastWill(device: configuration.device, session: configuration.session, timestampMs: WallClock.milliseconds)
        return try MQTTMessage(topic: configuration.topics.deviceState(configuration.device), control: state, on: configuration.topics)
    }

    /// Connects, announces, subscribes, and serves until ``shutdown()`` (or the connection's end).
    /// Its child tasks: loads and runs, telemetry, reconnect events.
    public func run() async throws {
        try configuration.validate()
        try await connection.connect()
        let stream = connection.messages
        for action in machine.start(nowMs: Self.nowMs()) { try await carryOut(action) }
        logger.info(
            "device online",
            metadata: [
                "session": "\(configuration.session)", "budget.bytes": "\(configuration.memoryBudgetBytes)",
                "base.bytes": "\(configuration.baseMemoryBytes)",
            ])
        let events = connection.events
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { jobs in
                    for await item in self.pendingWork {
                        jobs.addTask { await self.execute(item) }
                    }
                }
            }
            group.addTask { [interval = configuration.telemetryInterval] in
                while !Task.isCancelled {
                    await self.telemetryDue()
                    try? await Task.sleep(for: interval)
                }
            }
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.shutdown()
            }
            // After a lost connection the broker has published the will: announce again.
            group.addTask {
                for await event in events {
                    guard case .reconnected = event else { continue }
                    await self.reconnected()
                }
            }
            for await message in stream {
                HopTrace.mark("device.receive")
                await perform(machine.receive(
                    topic: message.topic, payload: message.payload, properties: MessageProperties(message.properties), nowMs: Self.nowMs()))
            }
            work.finish()
            group.cancelAll()
        }
    }

    /// Stops taking work (new invocations are answered `busy`), lets queued and running ones
    /// finish (up to ``drainLimit``), publishes `offline` (reason `shutdown`) and disconnects;
    /// ``run()`` then returns.
    public func shutdown() async {
        guard !machine.stopping else { return }
        await perform(machine.stop())
        // Woken by the idle signal, re-checked here: work can start between the signal and this
        // task running again (an answer is published right after its queue slot is freed).
        let deadline = ContinuousClock.now + Self.drainLimit
        while !isIdle, ContinuousClock.now < deadline {
            updateIdle()
            await idle.wait(timeout: deadline - ContinuousClock.now)
        }
        await perform(machine.offline(nowMs: Self.nowMs()))
        // Answers started meanwhile (busy replies to late invocations) end before the disconnect.
        let answersDeadline = ContinuousClock.now + .seconds(2)
        while answersInFlight > 0, ContinuousClock.now < answersDeadline {
            updateIdle()
            await answersDone.wait(timeout: answersDeadline - ContinuousClock.now)
        }
        closing = true
        await connection.disconnect()
        logger.info("device stopped")
    }

    private var isIdle: Bool { machine.isIdle && answersInFlight == 0 }

    private func updateIdle() {
        idle.update(idle: isIdle)
        answersDone.update(idle: answersInFlight == 0)
    }

    private func reconnected() async { await perform(machine.reconnected(nowMs: Self.nowMs())) }

    private func telemetryDue() async { await perform(machine.telemetryDue()) }

    /// A wake came due (a run's deadline, or a gathering batch's end): tells the machine the time,
    /// then wakes again when it next must hear it.
    func tick() async {
        let now = Self.nowMs()
        if let next = nextWakeMs, next <= now { nextWakeMs = nil }
        await perform(machine.tick(nowMs: now))
        if let due = machine.nextDueMs { scheduleWake(due) }
    }

    /// Makes sure a wake is pending at or before `atMs` (Unix ms). One pending wake serves every
    /// run due later: deadlines mostly come in rising order, so a run seldom sets a timer of its
    /// own, and the first wake re-arms for the next due run.
    private func scheduleWake(_ atMs: Double) {
        if let next = nextWakeMs, next <= atMs { return }
        nextWakeMs = atMs
        work.yield(.wake(atMs))
    }

    /// Loaded module ids (for tests and logs).
    public var loadedModules: [String] { machine.loadedModules }

    /// The current telemetry (also what is published).
    public func telemetry() -> DeviceTelemetry {
        machine.telemetry(
            nowMs: Self.nowMs(), residentMemoryBytes: (try? ResidentMemory.currentBytes()) ?? 0,
            peakResidentMemoryBytes: try? ResidentMemory.peakBytes())
    }

    /// Carries out the machine's actions in order; a failed one is logged and the rest still done.
    func perform(_ actions: [DeviceAgentAction]) async {
        for action in actions {
            do {
                try await carryOut(action)
            } catch {
                logger.warning("action failed", metadata: ["action": "\(Self.name(of: action))", "error": "\(error)"])
            }
        }
        metrics.queue(depth: machine.queueDepth)
        updateIdle()
    }

    private func carryOut(_ action: DeviceAgentAction) async throws {
        switch action {
        case .publish(.state(let state)):
            try await connection.publish(MQTTMessage(topic: topics.deviceState(device), control: state, on: topics))
        case .publish(.capabilities(let capabilities)):
            try await connection.publish(MQTTMessage(topic: topics.deviceCapabilities(device), control: capabilities, on: topics))
        case .publish(.answer(let answer)):
            publish(answer)
        case .publishTelemetry:
            guard !closing else { return }
            do {
                let telemetry = telemetry()
                metrics.memory(residentBytes: telemetry.residentMemoryBytes, peakBytes: telemetry.peakResidentMemoryBytes)
                try await connection.publish(MQTTMessage(topic: topics.deviceTelemetry(device), control: telemetry, on: topics))
            } catch {
                logger.debug("telemetry not sent", metadata: ["error": "\(error)"])
            }
        case .subscribe(let topic):
            try await connection.subscribe(topic, on: topics)
        case .unsubscribe(let topic):
            try await connection.unsubscribe(topic)
        case .load(let module):
            work.yield(.load(module))
        case .unload(let id):
            modules[id] = nil
        case .run(let run):
            guard let module = modules[run.module] else {
                // Cannot happen (the machine runs only loaded modules); answered, not lost.
                let failure = ModuleError(.unknownModule, module: run.module, "module '\(run.module)' is not loaded")
                await perform(machine.runFinished(run.ticket, .finished(.failure(failure)), computeMs: 0, nowMs: Self.nowMs()))
                return
            }
            let (cancelled, cancel) = AsyncStream.makeStream(of: Void.self)
            cancels[run.ticket] = cancel
            scheduleWake(Double(run.deadlineMs))
            HopTrace.mark("device.run-queued")
            work.yield(.run(run, module, cancelled))
        case .wake(let atMs):
            scheduleWake(atMs)
        case .cancel(let ticket):
            cancels[ticket]?.finish()
        case .count(let count):
            metrics.count(count)
        case .log(let level, let message, let metadata):
            logger.log(level: level, "\(message)", metadata: metadata)
        }
    }

    /// Names the actions that can fail (publishing the state or capabilities, subscriptions).
    private static func name(of action: DeviceAgentAction) -> String {
        switch action {
        case .publish(.state): "publish state"
        case .publish(.capabilities): "publish capabilities"
        case .subscribe(let topic): "subscribe \(topic)"
        case .unsubscribe(let topic): "unsubscribe \(topic)"
        default: "other"
        }
    }

    static func nowMs() -> Double { WallClock.exactMilliseconds }
}
