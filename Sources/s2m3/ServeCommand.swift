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

    @Option(help: "Largest request payload accepted, bytes.")
    var maxPayloadBytes: Int = TaskRequest.defaultMaxPayloadBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Topics.isValidIdentifier(group) else { throw ValidationError("--group '\(group)' must be 1–128 letters, digits, '-', '_', '.'") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
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
        var bindings: [String: TaskBinding] = [:]
        for task in loaded.tasks { bindings[task.id] = try TaskBinding(task: task, catalog: loaded) }
        let loadedModules = LocalModules(loader: ModuleLoader(
            catalog: loaded, modelsDirectory: modelsDirectory,
            threadPool: InferenceThreadPool(threadCount: threads, name: "s2m3-serve")))
        do { try await loadedModules.preload(Set(bindings.values.flatMap { $0.nodes.map(\.module) }).sorted()) } catch {
            throw RunCommandError("\(error.code.rawValue): \(error.description)")
        }
        var logger = Logger(label: "s2m3.serve")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let endpoint = try metrics.services(logger: logger)
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: "s2m3-serve-\(getpid())"), logger: logger)
        let server = MonolithicServer(
            connection: connection, topics: Topics(root: root), bindings: bindings,
            runner: TaskRunner(modules: loadedModules), maxPayloadBytes: maxPayloadBytes, logger: logger)
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

/// Answers requests with the one-process runner (``ServeCommand``).
struct MonolithicServer: Sendable {
    let connection: MQTTConnection
    let topics: Topics
    let bindings: [String: TaskBinding]
    let runner: TaskRunner
    let maxPayloadBytes: Int
    let logger: Logger
    var metrics: RequestMetrics { RequestMetrics(tasks: bindings.keys) }

    /// Runs one request message and publishes its result or error.
    func handle(_ message: MQTTMessage) async {
        guard let task = topics.task(fromRequestTopic: message.topic), !message.retain else { return }
        let properties = MessageProperties(
            contentType: message.properties.contentType, responseTopic: message.properties.responseTopic,
            correlationData: message.properties.correlationData, messageExpirySeconds: message.properties.messageExpiry,
            userProperties: message.properties.userProperties.map { .init($0.name, $0.value) })
        let traceparent = MessageProperties.validTraceparent(in: properties)
        var requestID = properties.correlationData.flatMap(RequestID.from(correlationData:))
        let answer: Answer
        do {
            let request = try TaskRequest(payload: message.payload, properties: properties, topicTask: task, maxPayloadBytes: maxPayloadBytes)
            let id = request.requestID ?? UUID().uuidString.lowercased()
            requestID = id
            if let binding = bindings[task] {
                do {
                    answer = .result(try await runner.run(binding, request: try request.bundle(), requestID: id))
                } catch let error as TaskRunError {
                    answer = .error(Self.taskError(error, requestID: id, task: task))
                }
            } else {
                answer = .error(TaskErrorMessage(requestID: id, task: task, code: .unknownTask,
                    reason: "no task '\(task)' in the catalog; tasks: \(bindings.keys.sorted().joined(separator: ", "))", timestampMs: Self.nowMs()))
            }
        } catch let error as MessageError {
            answer = .error(TaskErrorMessage(requestID: requestID, task: task, parsing: error, timestampMs: Self.nowMs()))
        } catch {
            answer = .error(TaskErrorMessage(requestID: requestID, task: task, code: .internalError, reason: "\(error)", timestampMs: Self.nowMs()))
        }
        let (onTask, bus): (String, MessageProperties)
        let payload: [UInt8]
        do {
            switch answer {
            case .result(let result):
                metrics.result(task: result.task, totalMs: result.totalMs)
                (onTask, bus) = (topics.results(task), result.properties(correlationData: properties.correlationData, traceparent: traceparent))
                payload = try result.jsonBytes()
            case .error(let raw):
                // Always publishable (an empty or invalid task goes to errors/-, long values are cut).
                let error = raw.publishable()
                metrics.error(task: error.task, code: error.code.rawValue)
                (onTask, bus) = (topics.errors(error.task), error.properties(correlationData: properties.correlationData, traceparent: traceparent))
                payload = try error.jsonBytes()
                logger.info("request failed", metadata: ["task.id": "\(task)", "error.code": "\(error.code)", "error.reason": "\(error.reason)"])
            }
        } catch {
            logger.error("cannot encode an answer", metadata: ["task.id": "\(task)", "error": "\(error)"])
            return
        }
        do {
            let mqtt = MQTTProperties(bus, utf8: true)
            try await connection.publish(MQTTMessage(topic: onTask, payload: payload, properties: mqtt, on: topics))
            if let reply = properties.responseTopic {
                try await connection.publish(MQTTMessage(responseTopic: reply, payload: payload, properties: mqtt))
            }
        } catch {
            logger.warning("cannot publish an answer", metadata: ["task.id": "\(task)", "error": "\(error)"])
        }
    }

    /// The error message for a request the runner could not complete.
    static func taskError(_ error: TaskRunError, requestID: String, task: String) -> TaskErrorMessage {
        let code: TaskErrorCode
        var field: String?
        if let binding = error.bindingError {
            (code, field) = (.missingInput, "inputs.\(binding.field)")
        } else if let module = error.moduleError, [.badInput, .wrongInput, .missingInput].contains(module.code) {
            (code, field) = (.badInput, module.input.map { "\(error.node ?? module.module).\($0)" })
        } else {
            code = .moduleFailed
        }
        return TaskErrorMessage(requestID: requestID, task: task, code: code, reason: error.message, field: field, timestampMs: nowMs())
    }

    static func nowMs() -> Int { WallClock.milliseconds }

    private enum Answer {
        case result(TaskResult)
        case error(TaskErrorMessage)
    }
}
