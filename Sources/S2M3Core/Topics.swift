/// Builds every MQTT topic string S2M3 uses. No topic literal exists anywhere else in the code;
/// `topics.md` at the project root documents each pattern, and a test keeps the two in step.
///
/// The root is configurable so that several clusters (or tests) can share one broker.
public struct Topics: Sendable, Hashable {
    /// The default root of the v1 contract.
    public static let defaultRoot = "s2m3/v1"

    public let root: String

    public init(root: String = Topics.defaultRoot) {
        precondition(!root.isEmpty && !root.hasSuffix("/"), "topic root must be non-empty without a trailing slash")
        self.root = root
    }

    // MARK: Devices

    /// Retained online/offline state of a device; its last will sets it offline.
    public func deviceState(_ device: String) -> String { "\(root)/devices/\(device)/state" }
    /// Retained capabilities of a device (memory budget, speed, sensors).
    public func deviceCapabilities(_ device: String) -> String { "\(root)/devices/\(device)/capabilities" }
    /// Periodic telemetry of a device (queue depth, measured latency, resident memory).
    public func deviceTelemetry(_ device: String) -> String { "\(root)/devices/\(device)/telemetry" }
    /// Retained assignment of modules to a device, published by the planner.
    public func deviceAssignment(_ device: String) -> String { "\(root)/devices/\(device)/assignment" }

    /// Filters for the planner: every device's state, capabilities and telemetry.
    public var allDeviceStates: String { "\(root)/devices/+/state" }
    public var allDeviceCapabilities: String { "\(root)/devices/+/capabilities" }
    public var allDeviceTelemetry: String { "\(root)/devices/+/telemetry" }

    // MARK: Planners and aggregators (presence)

    /// Retained online/offline state of a planner; its last will sets it offline.
    public func plannerState(_ planner: String) -> String { "\(root)/planners/\(planner)/state" }
    /// Periodic telemetry of a planner (plan epoch, live devices, re-plans, last solve time).
    public func plannerTelemetry(_ planner: String) -> String { "\(root)/planners/\(planner)/telemetry" }
    /// Retained online/offline state of an aggregator; its last will sets it offline.
    public func aggregatorState(_ aggregator: String) -> String { "\(root)/aggregators/\(aggregator)/state" }
    /// Periodic telemetry of an aggregator (requests in flight, rates, results and errors by code).
    public func aggregatorTelemetry(_ aggregator: String) -> String { "\(root)/aggregators/\(aggregator)/telemetry" }

    /// Filters for observers (`s2m3 status`): every planner's and aggregator's state and telemetry.
    public var allPlannerStates: String { "\(root)/planners/+/state" }
    public var allPlannerTelemetry: String { "\(root)/planners/+/telemetry" }
    public var allAggregatorStates: String { "\(root)/aggregators/+/state" }
    public var allAggregatorTelemetry: String { "\(root)/aggregators/+/telemetry" }

    /// The planner named by a topic of the form `planners/{planner}/…` (one level after it), or nil.
    public func planner(fromPlannerTopic topic: String) -> String? { Self.id(in: topic, prefix: "\(root)/planners/") }
    /// The aggregator named by a topic of the form `aggregators/{aggregator}/…` (one level after it), or nil.
    public func aggregator(fromAggregatorTopic topic: String) -> String? { Self.id(in: topic, prefix: "\(root)/aggregators/") }

    // MARK: Plan

    /// The retained, numbered plan.
    public var plan: String { "\(root)/plan" }

    // MARK: Requests and results

    /// Requests for one task.
    public func requests(_ task: String) -> String { "\(root)/requests/\(task)" }
    /// Shared subscription of the aggregators to every task's requests.
    public func sharedRequests(group: String) -> String { "$share/\(group)/\(root)/requests/+" }
    /// Results of one task.
    public func results(_ task: String) -> String { "\(root)/results/\(task)" }
    /// Errors of one task (bad requests, deadlines missed).
    public func errors(_ task: String) -> String { "\(root)/errors/\(task)" }
    /// Filter: the errors of every task (observers such as `s2m3 status`).
    public var allErrors: String { "\(root)/errors/+" }
    /// The task level of an `errors/{task}` topic, or nil.
    public func task(fromErrorTopic topic: String) -> String? {
        let prefix = "\(root)/errors/"
        guard topic.hasPrefix(prefix) else { return nil }
        let task = topic.dropFirst(prefix.count)
        return task.isEmpty || task.contains("/") ? nil : String(task)
    }

    /// The reply topic ``S2M3Client`` asks answers on (a request's MQTT 5 response topic). On an
    /// open broker any topic a client can subscribe to works; the secure broker's ACL lets a client
    /// read only `clients/{its client id}/…`, so `client` is the client id.
    public func clientReplies(_ client: String) -> String { "\(root)/clients/\(client)/replies" }

    // MARK: Streams (docs/streams.md)

    /// Retained online/offline state of a camera or microphone; its last will sets it offline.
    public func sourceState(_ source: String) -> String { "\(root)/sources/\(source)/state" }
    /// A camera's frames (one JPEG or PNG per message).
    public func sourceFrames(_ source: String) -> String { "\(root)/sources/\(source)/frames" }
    /// A microphone's audio chunks (16 kHz 16-bit mono PCM per message, ``AudioChunk``).
    public func sourceAudio(_ source: String) -> String { "\(root)/sources/\(source)/audio" }
    /// Filters for the aggregators: every source's state, frames and audio.
    public var allSourceStates: String { "\(root)/sources/+/state" }
    public var allSourceFrames: String { "\(root)/sources/+/frames" }
    public var allSourceAudio: String { "\(root)/sources/+/audio" }
    /// Retained stream subscription: which source, which tasks; clearing it ends the stream.
    public func streamSubscription(_ subscription: String) -> String { "\(root)/streams/\(subscription)" }
    /// Filter: every stream subscription.
    public var allStreamSubscriptions: String { "\(root)/streams/+" }
    /// Results of one task on one source's stream (`results/+/{source}`: everything about a source).
    public func streamResults(_ task: String, source: String) -> String { "\(root)/results/\(task)/\(source)" }
    /// Stream telemetry of one source, published by the aggregator serving it.
    public func streamTelemetry(_ aggregator: String, source: String) -> String {
        "\(root)/aggregators/\(aggregator)/streams/\(source)"
    }

    /// The source named by a topic of the form `sources/{source}/…` (one level after it), or nil.
    public func source(fromSourceTopic topic: String) -> String? {
        Self.id(in: topic, prefix: "\(root)/sources/").flatMap { Self.isValidIdentifier($0) ? $0 : nil }
    }
    /// The subscription level of a `streams/{subscription}` topic, or nil.
    public func subscription(fromStreamTopic topic: String) -> String? {
        let prefix = "\(root)/streams/"
        guard topic.hasPrefix(prefix) else { return nil }
        let name = String(topic.dropFirst(prefix.count))
        return Self.isValidIdentifier(name) ? name : nil
    }

    // MARK: Data plane

    /// Invocations of one module on one device.
    public func moduleInvoke(module: String, device: String) -> String { "\(root)/modules/\(module)/\(device)/invoke" }
    /// Filter: every invocation of every module on every device (observers, tests).
    public var allModuleInvocations: String { "\(root)/modules/+/+/invoke" }

    /// The module and device named by a topic built with ``moduleInvoke(module:device:)``, or nil.
    public func invocation(fromInvokeTopic topic: String) -> (module: String, device: String)? {
        let prefix = "\(root)/modules/", suffix = "/invoke"
        guard topic.hasPrefix(prefix), topic.hasSuffix(suffix), topic.count > prefix.count + suffix.count else { return nil }
        let parts = topic.dropFirst(prefix.count).dropLast(suffix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
    /// Branch outputs sent back to one aggregator by one device. The sending device is named in
    /// the topic so that the secure broker's ACL can prove it (only `{device}` may write there);
    /// the aggregator takes the device from the topic, not from the payload.
    public func aggregatorPartials(_ aggregator: String, device: String) -> String {
        "\(root)/aggregators/\(aggregator)/partials/\(device)"
    }
    /// Filter: every device's partials for one aggregator (the aggregator's subscription).
    public func allAggregatorPartials(_ aggregator: String) -> String { "\(root)/aggregators/\(aggregator)/partials/+" }

    /// The device named by a topic built with ``aggregatorPartials(_:device:)`` for `aggregator`, or nil.
    public func device(fromPartialsTopic topic: String, aggregator: String) -> String? {
        let prefix = "\(root)/aggregators/\(aggregator)/partials/"
        guard topic.hasPrefix(prefix) else { return nil }
        let device = String(topic.dropFirst(prefix.count))
        return Self.isValidIdentifier(device) ? device : nil
    }

    /// The task level of a `requests/{task}` topic, or nil if the topic is not one. The level may
    /// be empty or not an identifier (`requests/` matches the aggregators' `requests/+`): such a
    /// request is still answered, with `unknown-task`.
    public func task(fromRequestTopic topic: String) -> String? {
        let prefix = "\(root)/requests/"
        guard topic.hasPrefix(prefix) else { return nil }
        let task = topic.dropFirst(prefix.count)
        guard !task.contains("/") else { return nil }
        return String(task)
    }

    /// The device named by a topic of the form `devices/{device}/…`, or nil.
    public func device(fromDeviceTopic topic: String) -> String? { Self.id(in: topic, prefix: "\(root)/devices/") }

    /// The non-empty level after `prefix` in a topic `prefix{id}/{one more level}`, or nil.
    private static func id(in topic: String, prefix: String) -> String? {
        guard topic.hasPrefix(prefix) else { return nil }
        let parts = topic.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return nil }
        return String(parts[0])
    }

    /// Whether `name` can fill a `{device}`, `{task}`, `{module}`, `{planner}` or `{aggregator}` placeholder:
    /// 1–128 characters of ASCII letters, digits, `-`, `_`, `.` (so never `/`, `+`, `#` or `$`).
    public static func isValidIdentifier(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy(isIdentifierByte)
    }

    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    /// Whether `root` can be a topic root: identifier segments (``isValidIdentifier(_:)``) separated
    /// by `/` (e.g. `s2m3/v1`, `plant-7/s2m3/v1`). The one rule every command checks `--root` with.
    public static func isValidRoot(_ root: String) -> Bool {
        root.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { isValidIdentifier(String($0)) }
    }

    /// How messages on a topic are published: QoS and the retain flag.
    public struct Delivery: Sendable, Hashable {
        public let qos: Int
        public let retained: Bool
        public init(qos: Int, retained: Bool) {
            self.qos = qos
            self.retained = retained
        }
    }

    /// The QoS and retain flag of every pattern in ``patterns`` (topics.md's table; a test keeps
    /// the two equal). Services publish with these.
    public static let delivery: [String: Delivery] = [
        "devices/{device}/state": Delivery(qos: 1, retained: true),
        "devices/{device}/capabilities": Delivery(qos: 1, retained: true),
        "devices/{device}/telemetry": Delivery(qos: 0, retained: false),
        "devices/{device}/assignment": Delivery(qos: 1, retained: true),
        "planners/{planner}/state": Delivery(qos: 1, retained: true),
        "planners/{planner}/telemetry": Delivery(qos: 0, retained: false),
        "aggregators/{aggregator}/state": Delivery(qos: 1, retained: true),
        "aggregators/{aggregator}/telemetry": Delivery(qos: 0, retained: false),
        "plan": Delivery(qos: 1, retained: true),
        "requests/{task}": Delivery(qos: 1, retained: false),
        "results/{task}": Delivery(qos: 1, retained: false),
        "errors/{task}": Delivery(qos: 1, retained: false),
        "modules/{module}/{device}/invoke": Delivery(qos: 1, retained: false),
        "aggregators/{aggregator}/partials/{device}": Delivery(qos: 1, retained: false),
        "clients/{client}/replies": Delivery(qos: 1, retained: false),
        "sources/{source}/state": Delivery(qos: 1, retained: true),
        "sources/{source}/frames": Delivery(qos: 0, retained: false),
        "sources/{source}/audio": Delivery(qos: 1, retained: false),
        "streams/{subscription}": Delivery(qos: 1, retained: true),
        "results/{task}/{source}": Delivery(qos: 1, retained: false),
        "aggregators/{aggregator}/streams/{source}": Delivery(qos: 0, retained: false),
    ]

    /// The ``Delivery`` of an answer on a requester's MQTT 5 response topic (any topic the
    /// requester chose): that of `clients/{client}/replies`.
    public static let responseDelivery = delivery["clients/{client}/replies"]!

    /// The ``Delivery`` of a topic this type built (under this root): the pattern whose literal
    /// levels match and whose `{name}` levels are each one non-empty level. Nil for a topic of no
    /// pattern.
    public func delivery(of topic: String) -> Delivery? {
        guard topic.hasPrefix(root + "/") else { return nil }
        let levels = topic.dropFirst(root.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        for (pattern, delivery) in Self.delivery {
            let parts = pattern.split(separator: "/")
            guard parts.count == levels.count else { continue }
            let matches = zip(parts, levels).allSatisfy { part, level in
                part.hasPrefix("{") ? !level.isEmpty : part == level
            }
            if matches { return delivery }
        }
        return nil
    }

    // MARK: Broker administration (fixed by Mosquitto, outside the root)

    /// Commands to Mosquitto's dynamic-security plugin; the planner, its administrator, grants each
    /// device the invocations of the modules it hosts (docs/security.md).
    public static let dynamicSecurityCommands = "$CONTROL/dynamic-security/v1"
    /// The ``Delivery`` of ``dynamicSecurityCommands``: at least once, never retained.
    public static let dynamicSecurityDelivery = Delivery(qos: 1, retained: false)
    /// The plugin's answers to ``dynamicSecurityCommands``, to the client that sent them.
    public static let dynamicSecurityResponses = "$CONTROL/dynamic-security/v1/response"

    /// The default shared-subscription group of the aggregators (see ``sharedRequests(group:)``).
    public static let aggregatorGroup = "s2m3-aggregators"

    /// Every topic pattern this type can build, with `{name}` placeholders, relative to the root.
    /// `topics.md` must document each one (checked by a test).
    public static let patterns: [String] = [
        "devices/{device}/state",
        "devices/{device}/capabilities",
        "devices/{device}/telemetry",
        "devices/{device}/assignment",
        "planners/{planner}/state",
        "planners/{planner}/telemetry",
        "aggregators/{aggregator}/state",
        "aggregators/{aggregator}/telemetry",
        "plan",
        "requests/{task}",
        "results/{task}",
        "errors/{task}",
        "modules/{module}/{device}/invoke",
        "aggregators/{aggregator}/partials/{device}",
        "clients/{client}/replies",
        "sources/{source}/state",
        "sources/{source}/frames",
        "sources/{source}/audio",
        "streams/{subscription}",
        "results/{task}/{source}",
        "aggregators/{aggregator}/streams/{source}",
    ]
}
