import Foundation
import LocalBroker
import Logging
import MQTTBus

/// Publish→subscribe latency and throughput over loopback, for S2M3's MQTTBus and, side by side
/// in the same run against the same broker, for `mosquitto_pub` / `mosquitto_sub`.
struct BusBenchmark {
    struct Case: Sendable {
        var size: Int
        var qos: MQTTQoS
        var latencySamples: Int
        var throughputMessages: Int
        var label: String { size >= 1 << 20 ? "\(size >> 20) MB" : "\(size >> 10) KB" }
    }

    /// Latency percentiles in microseconds.
    struct Latency: Sendable {
        var p50: Double
        var p99: Double
        var samples: Int
    }

    /// Steady-state delivery rate seen by the subscriber (first to last receipt).
    struct Throughput: Sendable {
        var messagesPerSecond: Double
        var received: Int
        var sent: Int
    }

    let broker: MosquittoProcess
    let logger: Logger
    let tools: (pub: String, sub: String)
    /// The S2M3 connections' listener (default: the broker's first) and TLS settings (nil: plain).
    var endpoint: MQTTEndpoint
    var tls: MQTTTLSConfiguration?

    init(broker: MosquittoProcess, logger: Logger, tools: (pub: String, sub: String), port: Int? = nil, tls: MQTTTLSConfiguration? = nil) {
        self.broker = broker
        self.logger = logger
        self.tools = tools
        endpoint = MQTTEndpoint(host: broker.host, port: port ?? broker.port)
        self.tls = tls
    }

    func connection(_ name: String) async throws -> MQTTConnection {
        let connection = MQTTConnection(
            configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "bench-\(name)-\(getpid())", tls: tls),
            logger: logger
        )
        try await connection.connect()
        return connection
    }

    // MARK: S2M3 (Swift → Swift)

    /// One message at a time: time from `publish` to the subscriber's consumer receiving it, in
    /// microseconds, `samples` of them after a 10 % warm-up.
    func swiftLatency(_ c: Case, samples count: Int, topic: String) async throws -> [Double] {
        let publisher = try await connection("lat-pub")
        let subscriber = try await connection("lat-sub")
        try await subscriber.subscribe(topic, qos: c.qos)
        var messages = subscriber.messages.makeAsyncIterator()
        let payload = [UInt8](repeating: 0x5a, count: c.size)
        let clock = ContinuousClock()
        var samples: [Double] = []
        for i in 0..<(count + count / 10) {
            let message = MQTTMessage(topic: topic, payload: payload, qos: c.qos)
            let start = clock.now
            async let acknowledged: Void = publisher.publish(message)
            guard await messages.next() != nil else { break }
            let elapsed = clock.now - start
            try await acknowledged
            if i >= count / 10 { samples.append(elapsed.microseconds) }  // first 10 %: warm-up
        }
        await publisher.disconnect()
        await subscriber.disconnect()
        return samples
    }

    /// N messages as fast as the publisher goes (QoS 1: up to `window` awaiting PUBACK).
    func swiftThroughput(_ c: Case, topic: String, window: Int) async throws -> Throughput {
        let publisher = try await connection("tp-pub")
        let subscriber = try await connection("tp-sub")
        try await subscriber.subscribe(topic, qos: c.qos)
        let receipts = Receipts()
        let stream = subscriber.messages
        let consumer = Task {
            for await _ in stream { receipts.add(Self.realtimeNow()) }
        }
        let payload = [UInt8](repeating: 0x5a, count: c.size)
        let message = MQTTMessage(topic: topic, payload: payload, qos: c.qos)
        if c.qos == .atMostOnce || window <= 1 {
            for _ in 0..<c.throughputMessages { try await publisher.publish(message) }
        } else {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<c.throughputMessages {
                    if i >= window { try await group.next() }
                    group.addTask { try await publisher.publish(message) }
                }
                try await group.waitForAll()
            }
        }
        await receipts.waitFor(c.throughputMessages, idle: .seconds(3))
        await publisher.disconnect()
        await subscriber.disconnect()
        await consumer.value
        return receipts.throughput(sent: c.throughputMessages)
    }

    // MARK: Reference: mosquitto_pub / mosquitto_sub

    /// S2M3 publisher → `mosquitto_sub`, one at a time: `mosquitto_sub -F %U` prints its receipt
    /// time (CLOCK_REALTIME), compared with the realtime clock read just before `publish`.
    func referenceSubscriberLatency(_ c: Case, samples count: Int, topic: String) async throws -> [Double] {
        let (sub, lines) = try await startMosquittoSub(topic: topic, qos: c.qos, count: nil)
        var iterator = lines.makeAsyncIterator()
        guard let first = await iterator.next(), Self.parseLine(first, topic: topic).isMarker else {
            throw BenchError("mosquitto_sub did not start")
        }
        let publisher = try await connection("ref-lat-pub")
        let payload = [UInt8](repeating: 0x5a, count: c.size)
        var samples: [Double] = []
        for i in 0..<(count + count / 10) {
            let start = Self.realtimeNow()
            try await publisher.publish(MQTTMessage(topic: topic, payload: payload, qos: c.qos))
            guard let line = await iterator.next(), let received = Self.parseLine(line, topic: topic).time else { break }
            if i >= count / 10 { samples.append((received - start) * 1e6) }
        }
        await publisher.disconnect()
        sub.send(Self.stopSignal)
        await sub.waitUntilExit()
        return samples
    }

    /// `mosquitto_pub --repeat N` (next publish after the previous completes: written for QoS 0,
    /// PUBACK for QoS 1) → `mosquitto_sub -C N`, rate from mosquitto_sub's receipt timestamps.
    func referenceThroughput(_ c: Case, topic: String, payloadFile: String) async throws -> Throughput {
        let (sub, lines) = try await startMosquittoSub(topic: topic, qos: c.qos, count: c.throughputMessages)
        let receipts = Receipts()
        let reader = Task {
            for await line in lines {
                let parsed = Self.parseLine(line, topic: topic)
                if parsed.isMarker { receipts.markReady() }
                if let time = parsed.time { receipts.add(time) }
            }
        }
        while !receipts.isReady {
            if sub.hasExited { throw BenchError("mosquitto_sub exited before subscribing") }
            try await Task.sleep(for: .milliseconds(1))
        }
        let pub = try ChildProcess.spawn(tools.pub, [
            "-h", broker.host, "-p", "\(broker.port)", "-V", "mqttv5", "--nodelay", "-q", "\(c.qos.rawValue)",
            "-t", topic, "-f", payloadFile, "--repeat", "\(c.throughputMessages)", "--repeat-delay", "0",
        ], stdout: .null, stderr: .null)
        await receipts.waitFor(c.throughputMessages, idle: .seconds(3))
        pub.send(Self.stopSignal)
        sub.send(Self.stopSignal)
        await pub.waitUntilExit()
        await sub.waitUntilExit()
        await reader.value
        return receipts.throughput(sent: c.throughputMessages)
    }

    /// Starts `mosquitto_sub` on `topic` and on `topic/ready`, which holds a retained message:
    /// the first line (that message) proves the subscription is in place. Lines are `%t %U`.
    /// (Each case uses its own topics on a throw-away broker, so the retained marker stays.)
    private func startMosquittoSub(topic: String, qos: MQTTQoS, count: Int?) async throws -> (ChildProcess, AsyncStream<String>) {
        let marker = try await connection("ref-ready")
        try await marker.publish(MQTTMessage(topic: "\(topic)/ready", string: "ready", retain: true))
        await marker.disconnect()
        var arguments = ["-h", broker.host, "-p", "\(broker.port)", "-V", "mqttv5", "--nodelay", "-q", "\(qos.rawValue)",
                         "-t", topic, "-t", "\(topic)/ready", "-F", "%t %U"]
        if let count { arguments += ["-C", "\(count + 1)"] }
        let sub = try ChildProcess.spawn(tools.sub, arguments, stdout: .pipe, stderr: .null)
        return (sub, sub.outputLines())
    }

    /// A mosquitto_sub line: whether it is the ready marker, and the receipt time of a data line.
    static func parseLine(_ line: String, topic: String) -> (isMarker: Bool, time: Double?) {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (false, nil) }
        return (parts[0] == "\(topic)/ready", parts[0] == topic ? parseTimestamp(parts[1]) : nil)
    }

    // MARK: Helpers

    /// How the reference tools are stopped once their output is read. Not SIGTERM: mosquitto_sub's
    /// SIGTERM handler calls `mosquitto_disconnect_v5`, which deadlocks when the signal lands while
    /// its loop holds the same mutex (seen: a benchmark waiting forever for it to exit).
    static let stopSignal = SIGKILL

    static func realtimeNow() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    /// Parses mosquitto_sub's `%U`: `seconds.nanoseconds`.
    static func parseTimestamp(_ text: String) -> Double? {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let seconds = Double(parts[0]), let fraction = Double("0." + parts[1]) else { return nil }
        return seconds + fraction
    }

    /// The round with the median rate.
    static func median(_ rounds: [Throughput]) -> Throughput? {
        let sorted = rounds.sorted { ($0.messagesPerSecond.isNaN ? -1 : $0.messagesPerSecond) < ($1.messagesPerSecond.isNaN ? -1 : $1.messagesPerSecond) }
        return sorted.isEmpty ? nil : sorted[sorted.count / 2]
    }

    static func percentiles(_ samples: [Double]) -> Latency {
        guard !samples.isEmpty else { return Latency(p50: .nan, p99: .nan, samples: 0) }
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))] }
        return Latency(p50: at(0.5), p99: at(0.99), samples: sorted.count)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var microseconds: Double {
        Double(components.seconds) * 1e6 + Double(components.attoseconds) * 1e-12
    }
}

/// Receipt times (realtime seconds) collected by a consumer, polled by the benchmark.
final class Receipts: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Double] = []
    private var ready = false

    func markReady() { lock.withLock { ready = true } }
    var isReady: Bool { lock.withLock { ready } }

    func add(_ time: Double) { lock.withLock { times.append(time) } }

    var count: Int { lock.withLock { times.count } }

    /// Waits until `count` receipts, or until none arrived for `idle` (messages were dropped).
    func waitFor(_ expected: Int, idle: Duration) async {
        var last = 0
        var lastChange = ContinuousClock.now
        while true {
            let current = count
            if current >= expected { return }
            if current != last {
                last = current
                lastChange = .now
            } else if ContinuousClock.now - lastChange > idle {
                return
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    func throughput(sent: Int) -> BusBenchmark.Throughput {
        let times = lock.withLock { self.times }
        guard times.count >= 2, let first = times.first, let last = times.last, last > first else {
            return .init(messagesPerSecond: .nan, received: times.count, sent: sent)
        }
        return .init(messagesPerSecond: Double(times.count - 1) / (last - first), received: times.count, sent: sent)
    }
}
