import Aggregator
import ArgumentParser
import Catalog
import Foundation
import Logging
import MQTTBus
import S2M3Core
import ServiceSupport

/// `s2m3 aggregator`: the aggregator service. Takes requests through the shared subscription,
/// routes each request's branches to module replicas of the current plan, merges their partials and
/// publishes results and errors (topics.md). Prints `ready` once subscribed.
struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Run an aggregator: route requests over the plan's module replicas and publish results."
    )

    @Option(help: "Aggregator id (devices answer on aggregators/{id}/partials/{device}).")
    var id: String

    @OptionGroup var bus: BrokerOptions

    @OptionGroup var metrics: MetricsOptions

    @Option(help: "Shared-subscription group of the aggregators.")
    var group: String = Topics.aggregatorGroup

    @Option(help: "The catalog file (its tasks are served).")
    var catalog = "catalog/default.json"

    @Option(help: "Folder of the module files: when given, every weight file is hashed and checked against the catalog at start (seconds in a debug build). The aggregator itself reads no weights.")
    var models: String?

    @Option(help: "Deadline of requests that set none, ms.")
    var defaultTimeoutMs: Int = 10_000

    @Option(help: "Largest request payload accepted, bytes.")
    var maxPayloadBytes: Int = TaskRequest.defaultMaxPayloadBytes

    @Option(help: "Payload bytes of all requests in flight at once; more is answered 'overloaded' at once.")
    var maxInFlightBytes: Int = LimitsConfiguration().maxInFlightBytes

    @Option(help: "Largest image accepted, pixels (width × height from the JPEG/PNG header).")
    var maxImagePixels: Int = LimitsConfiguration().maxImagePixels

    @Option(help: "Longest audio accepted, seconds (from the WAV header).")
    var maxAudioSeconds: Double = LimitsConfiguration().maxAudioSeconds

    @Option(help: "Least time an invocation gets before it is retried on another replica, ms.")
    var invocationTimeoutMs: Int = 2_000

    @Option(help: "On SIGTERM/SIGINT, time allowed to finish the requests in flight, ms.")
    var drainMs: Int = 5_000

    @OptionGroup var admission: AdmissionOptions

    @Option(help: "A JSON file of stream subscriptions in force from the start (an object of name → s2m3.stream-subscription/1, or a list); a retained streams/{name} of the same name replaces one (docs/streams.md).")
    var streamsConfig: String?

    @Flag(help: "Dispatch one node of a request at a time (the benchmark's sequential baseline).")
    var sequential = false

    @Flag(help: "Send every node as its own invocation, even when the next one runs on the same device (the benchmark's baseline before co-located chains).")
    var noChains = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Topics.isValidIdentifier(id) else { throw ValidationError("--id '\(id)' must be 1–128 letters, digits, '-', '_', '.'") }
        guard Topics.isValidIdentifier(group) else { throw ValidationError("--group '\(group)' must be 1–128 letters, digits, '-', '_', '.'") }
        guard ValueRange.timeoutMs.contains(defaultTimeoutMs) else {
            throw ValidationError("--default-timeout-ms must be in \(ValueRange.timeoutMs.lowerBound)…\(ValueRange.timeoutMs.upperBound)")
        }
        do {
            try limits.validate()
        } catch {
            throw ValidationError("--\(error.field.map(Self.flag) ?? "limits"): \(error.message)")
        }
        _ = try admission.configuration()
        guard invocationTimeoutMs >= 1 else { throw ValidationError("--invocation-timeout-ms must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
    }

    /// The limits the flags set (the rest keep their defaults).
    var limits: LimitsConfiguration {
        var limits = LimitsConfiguration()
        limits.maxPayloadBytes = maxPayloadBytes
        limits.maxInFlightBytes = maxInFlightBytes
        limits.maxImagePixels = maxImagePixels
        limits.maxAudioSeconds = maxAudioSeconds
        return limits
    }

    /// `maxInFlightBytes` → `max-in-flight-bytes`.
    static func flag(_ field: String) -> String {
        field.reduce(into: "") { out, character in
            if character.isUppercase { out += "-" + character.lowercased() } else { out.append(character) }
        }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let loaded: ModuleCatalog
        do {
            loaded = try models.map { try ModuleCatalog.load(path: catalog, modelsDirectory: $0) } ?? AggregatorCatalog.load(path: catalog)
        } catch let error as CatalogError {
            throw ValidationError("\(error)")
        }
        var logger = Logger(label: "s2m3.aggregator")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let endpoint = try metrics.services(logger: logger)
        var configuration = AggregatorConfiguration(id: id, topics: Topics(root: bus.topicRoot))
        configuration.group = group
        configuration.defaultTimeoutMs = defaultTimeoutMs
        configuration.limits = limits
        configuration.invocationTimeoutFloorMs = Double(invocationTimeoutMs)
        configuration.sequential = sequential
        configuration.chains = !noChains
        configuration.admission = try admission.configuration()
        configuration.maxBusyRetries = admission.maxBusyRetries
        configuration.busyBackoffCapMs = Double(admission.busyBackoffCapMs)
        if let streamsConfig {
            do {
                configuration.streamSubscriptions = try StreamSubscriptionFile.load(path: streamsConfig)
            } catch {
                throw ValidationError("--streams-config \(error)")
            }
        }
        // The will marks the aggregator offline on aggregators/{id}/state when its connection dies.
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: "s2m3-aggregator-\(id)", will: try AggregatorService.will(for: configuration)),
            logger: logger)
        configuration.drainTimeout = .milliseconds(drainMs)
        // SIGTERM / SIGINT: leave the shared subscription, finish the requests in flight (up to
        // --drain-ms), disconnect and exit 0.
        let service: AggregatorService
        do {
            service = try AggregatorService(connection: connection, catalog: loaded, configuration: configuration, logger: logger) {
                print("ready")
                fflush(nil)
            }
        } catch {
            // The catalog was read above: what is refused here is a declared stream subscription.
            throw ValidationError("--streams-config \(streamsConfig ?? "-"): \(error)")
        }
        if let streamsConfig {
            logger.info("stream subscriptions declared", metadata: [
                "file": "\(streamsConfig)", "stream.subscriptions": "\(configuration.streamSubscriptions.keys.sorted().joined(separator: ","))"])
        }
        do {
            try await ProcessServices.run(endpoint + [service], logger: logger)
        } catch {
            throw BrokerConnectHint.explain(error, broker: broker)
        }
    }
}
