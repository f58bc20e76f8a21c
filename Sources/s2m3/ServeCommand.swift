import Aggregator
import ArgumentParser
import Catalog
import Foundation
import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Core
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// `s2m3 serve`: the monolithic runner as a service. Every module of the catalog's tasks is loaded
/// in this one process; requests arrive through the aggregators' shared subscription (so it can
/// stand in for an aggregator), run with ``TaskRunner`` and are answered like an aggregator answers
/// (topics.md): the ``TaskResult`` on `results/{task}` and on the response topic with the
/// correlation data, or a ``TaskErrorMessage`` on `errors/{task}` and the response topic.
/// The cluster benchmark's "cloud" server; also a single-box mode without device agents.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve every task from this one process (no devices): requests in, results out, over MQTT."
    )

    @OptionGroup var bus: BrokerOptions

    @Option(help: "Shared-subscription group (the aggregators' by default, so it can stand in for one).")
    var group: String = Topics.aggregatorGroup

    @OptionGroup var modules: CatalogOptions

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Inference threads (parallel branches and concurrent requests run at once up to this many).")
    var threads = 2

    @Option(help: "Largest batch of a batchable module: calls that wait while every inference thread runs it run together (default 1: never batch; on 2 cores it measured slower, docs/benchmarks.md).")
    var maxBatch = 1

    @Option(help: "Largest request payload accepted, bytes.")
    var maxPayloadBytes: Int = TaskRequest.defaultMaxPayloadBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @OptionGroup var admission: AdmissionOptions

    /// Serve's admission limits: no plan to derive them from, so `--max-in-flight` (default 16 per
    /// inference thread) for all tasks and per task unless `--task-max-in-flight` says otherwise.
    func capacity(_ configuration: AdmissionConfiguration) -> AdmissionCapacity {
        guard configuration.enabled else { return .unlimited }
        let total = configuration.maxInFlight ?? configuration.assumedQueueCapacity * threads
        return AdmissionCapacity(perTask: total, total: total, retryAfterMs: 100)
    }

    func validate() throws {
        _ = try admission.configuration()
        guard Topics.isValidIdentifier(group) else { throw ValidationError("--group '\(group)' must be 1–128 letters, digits, '-', '_', '.'") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (1...256).contains(maxBatch) else { throw ValidationError("--max-batch must be between 1 and 256") }
        guard maxPayloadBytes >= 1 else { throw ValidationError("--max-payload-bytes must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let root = bus.topicRoot
        let modelsDirectory = modules.modelsDirectory
        let loaded: ModuleCatalog
        do { loaded = try ModuleCatalog.load(path: modules.catalog, modelsDirectory: modelsDirectory) } catch {
            throw ValidationError("\(error.code): \(error.message)")
        }
        var configuration = AggregatorConfiguration(id: "serve-\(getpid())", topics: Topics(root: root))
        configuration.limits.maxPayloadBytes = maxPayloadBytes
        configuration.admission = try admission.configuration()
        let intake = try RequestIntake(configuration: configuration, catalog: loaded)
        let bindings = intake.bindings
        let loadedModules = LocalModules(loader: ModuleLoader(
            catalog: loaded, modelsDirectory: modelsDirectory,
            threadPool: InferenceThreadPool(threadCount: threads, name: "s2m3-serve")), maxBatch: maxBatch,
            concurrency: threads)
        do { try await loadedModules.preload(Set(bindings.values.flatMap { $0.nodes.map(\.module) }).sorted()) } catch {
            throw RunCommandError("\(error.code.rawValue): \(error.description)")
        }
        var logger = Logger(label: "s2m3.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let endpoint = try metrics.services(logger: logger)
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: "s2m3-serve-\(getpid())"), logger: logger)
        let server = MonolithicServer(
            connection: connection, topics: Topics(root: root), intake: SharedIntake(intake),
            runner: TaskRunner(modules: loadedModules), capacity: capacity(configuration.admission), perTask: configuration.admission.maxInFlightPerTask, logger: logger)
        let ready = "ready: \(bindings.count) tasks, \(await loadedModules.loadedIDs.count) modules, broker \(broker) root \(root)"
        let service = MonolithicService(server: server, group: group, drainTimeout: .seconds(30)) {
            print(ready)
            fflush(nil)
        }
        do { try await ProcessServices.run(endpoint + [service], logger: logger) } catch { throw BrokerConnectHint.explain(error, broker: broker) }
    }
}

/// `s2m3 serve` as a ServiceLifecycle `Service`: takes requests through the shared subscription and
/// answers each with ``MonolithicServer``; on graceful shutdown it leaves the subscription, lets the
/// requests in flight finish and publish, then disconnects.
struct MonolithicService: Service {
    let server: MonolithicServer
    let group: String
    let drainTimeout: Duration
    let onReady: @Sendable () -> Void

    func run() async throws {
        let connection = server.connection
        try await connection.connect()
        let messages = connection.messages
        let subscription = server.topics.sharedRequests(group: group)
        try await connection.subscribe(subscription)
        onReady()
        let inFlight = InFlight()
        await withDiscardingTaskGroup { requests in
            requests.addTask { [drainTimeout, logger = server.logger] in
                guard (try? await gracefulShutdown()) != nil else { return }
                try? await connection.unsubscribe(subscription)
                if !(await inFlight.drained(timeout: drainTimeout)) {
                    logger.warning("stopping with requests unanswered", metadata: ["requests": "\(inFlight.current)"])
                }
                await connection.disconnect()
            }
            for await message in messages {
                requests.addTask { await inFlight.track { await server.handle(message) } }
            }
            requests.cancelAll()
        }
    }
}

/// Answers requests with the one-process runner (``ServeCommand``). Requests come in through the
/// aggregator's own ``RequestIntake`` (the same decoding, checks, duplicate ids, limits and
/// admission) and are answered through ``AggregatorAction/answerMessages(topics:)``; only the
/// execution differs: ``TaskRunner`` in this process instead of invocations on devices.
struct MonolithicServer: Sendable {
    let connection: MQTTConnection
    let topics: Topics
    let intake: SharedIntake
    let runner: TaskRunner
    /// The admission limits (fixed: there is no plan); ``AdmissionCapacity/unlimited`` when off.
    let capacity: AdmissionCapacity
    /// `--task-max-in-flight`.
    let perTask: [String: Int]
    let logger: Logger
    var metrics: RequestMetrics { RequestMetrics(tasks: intake.tasks) }

    /// Runs one request message and publishes its result or error.
    func handle(_ message: MQTTMessage) async {
        guard let task = topics.task(fromRequestTopic: message.topic) else { return }
        let decision = intake.receive(
            task: task, payload: message.payload, properties: MessageProperties(message.properties), retained: message.retain,
            nowMs: Self.nowMs()
        ) { [capacity, perTask] binding in
            var room = capacity
            if let limit = perTask[binding.task.id], room != .unlimited { room.perTask = limit }
            return room
        }
        let answer: AggregatorAction
        switch decision {
        case .ignore:
            return
        case .refuse(let refusal):
            answer = refusal
        case .admit(let request):
            do {
                var result = try await runner.run(request.binding, request: request.bundle, requestID: request.clientID)
                result.requestID = request.clientID
                answer = .result(result, request.reply)
            } catch {
                let (code, field) = Self.classify(error)
                answer = intake.error(request, code, error.message, field: field, nowMs: Self.nowMs())
            }
            intake.retire(request, answer: answer, nowMs: Self.nowMs())
        }
        switch answer {
        case .result(let result, _): metrics.result(task: result.task, totalMs: result.totalMs)
        case .error(let error, _, _):
            metrics.error(task: error.task, code: error.code.rawValue)
            logger.info("request failed", metadata: ["task.id": "\(task)", "error.code": "\(error.code)", "error.reason": "\(error.reason)"])
        case .answeredAgain:
            logger.debug("answered again", metadata: ["task.id": "\(task)"])
        case .invoke, .streamResult: break
        }
        do {
            try await connection.publish(try answer.answerMessages(topics: topics))
        } catch {
            logger.warning("cannot publish an answer", metadata: ["task.id": "\(task)", "error": "\(error)"])
        }
    }

    /// The error code (and field) for a request the runner could not complete.
    static func classify(_ error: TaskRunError) -> (TaskErrorCode, String?) {
        if let binding = error.bindingError { return (.missingInput, "inputs.\(binding.field)") }
        if let module = error.moduleError, [.badInput, .wrongInput, .missingInput].contains(module.code) {
            return (.badInput, module.input.map { "\(error.node ?? module.module).\($0)" })
        }
        return (.moduleFailed, nil)
    }

    static func nowMs() -> Double { Double(WallClock.milliseconds) }
}

/// ``RequestIntake`` shared by the requests `s2m3 serve` runs at once (a `Mutex` guards it).
final class SharedIntake: Sendable {
    private let state: Mutex<RequestIntake>
    let tasks: [String]

    init(_ intake: RequestIntake) {
        tasks = intake.bindings.keys.sorted()
        state = Mutex(intake)
    }

    func receive(
        task: String, payload: [UInt8], properties: MessageProperties, retained: Bool, nowMs: Double,
        capacity: (TaskBinding) -> AdmissionCapacity
    ) -> RequestIntake.Decision {
        state.withLock { $0.receive(task: task, payload: payload, properties: properties, retained: retained, nowMs: nowMs, capacity: capacity) }
    }

    func retire(_ request: AdmittedRequest, answer: AggregatorAction, nowMs: Double) {
        state.withLock { $0.retire(request, answer: answer, nowMs: nowMs) }
    }

    func error(_ request: AdmittedRequest, _ code: TaskErrorCode, _ reason: String, field: String?, nowMs: Double) -> AggregatorAction {
        state.withLock { $0.error(request.clientID, task: request.task, code, reason, field: field, reply: request.reply, nowMs: nowMs) }
    }
}
