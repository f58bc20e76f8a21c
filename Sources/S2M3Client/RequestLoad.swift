import Foundation
import MQTTBus
import S2M3Core
import Synchronization

/// What one run of ``RequestLoad`` saw: every request sent, and the answer each got (or none).
public struct LoadOutcome: Sendable {
    public var sent = 0
    /// Seconds from the first request sent until sending stopped.
    public var sendingSeconds = 0.0
    public var results = 0
    /// Error answers by code.
    public var errors: [String: Int] = [:]
    /// Requests with more than one answer (should be none).
    public var repeated = 0
    /// Send → result, ms.
    public var resultLatenciesMs: [Double] = []
    /// Send → `overloaded` error, ms.
    public var rejectionLatenciesMs: [Double] = []
    /// Results that arrived while requests were still being sent.
    public var resultsWhileSending = 0
    /// When each result arrived, seconds after the first request was sent.
    public var resultOffsets: [Double] = []

    /// Requests with no answer.
    public var silent: Int { sent - results - errors.values.reduce(0, +) }
    public var rejected: Int { errors["overloaded"] ?? 0 }
    /// Results per second while requests were being sent.
    public var answeredPerSecond: Double { sendingSeconds > 0 ? Double(resultsWhileSending) / sendingSeconds : 0 }
    public var offeredPerSecond: Double { sendingSeconds > 0 ? Double(sent) / sendingSeconds : 0 }
    /// Results per second from the first request sent to the last result (through the drain): the
    /// throughput of the whole run; nil without results.
    public var throughputPerSecond: Double? {
        guard let last = resultOffsets.max(), last > 0 else { return nil }
        return Double(resultOffsets.count) / last
    }

    /// The `q`-quantile (0…1) of `values` (nearest rank), nil when empty.
    public static func quantile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
    }
}

/// A load generator for overload tests and `s2m3 bench overload`: sends one task's request (the same
/// payload each time, its own correlation data each) on `requests/{task}` with a response topic, and
/// records when each answer arrives and what it is.
public struct RequestLoad: Sendable {
    public let connection: MQTTConnection
    public let topics: Topics
    public let task: String
    public let payload: [UInt8]
    public let contentType: String
    /// Distinguishes this run's response topic and ids.
    public let name: String

    public init(connection: MQTTConnection, topics: Topics = Topics(), task: String, payload: [UInt8], contentType: String, name: String) {
        self.connection = connection
        self.topics = topics
        self.task = task
        self.payload = payload
        self.contentType = contentType
        self.name = name
    }

    /// Keeps `concurrency` requests unanswered for `seconds` (each answer sends the next): the
    /// cluster's sustained rate is `results / sendingSeconds`.
    public func closedLoop(concurrency: Int, seconds: Double, drain: Duration = .seconds(30)) async throws -> LoadOutcome {
        try await run(drain: drain) { send, answers, stop in
            let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            // Without answers the loop would wait forever: it ends `drain` after the time is up.
            let timer = Task {
                try? await Task.sleep(until: end + drain)
                stop()
            }
            defer { timer.cancel() }
            for _ in 0..<concurrency { try await send() }
            for await _ in answers {
                guard ContinuousClock.now < end else { break }
                try await send()
            }
        }
    }

    /// Sends `rate` requests per second for `seconds` whatever comes back, then waits up to
    /// `drain` for the last answers.
    public func openLoop(rate: Double, seconds: Double, drain: Duration = .seconds(30)) async throws -> LoadOutcome {
        try await run(drain: drain) { send, _, _ in
            let start = ContinuousClock.now
            let count = Int((rate * seconds).rounded())
            for index in 0..<count {
                let due = start + .microseconds(Int(Double(index) / rate * 1_000_000))
                if due > ContinuousClock.now { try await Task.sleep(until: due) }
                try await send()
            }
        }
    }

    private final class Book: Sendable {
        struct State {
            var sentAt: [Int: ContinuousClock.Instant] = [:]
            var answered: Set<Int> = []
            var outcome = LoadOutcome()
            var sending = true
            var firstSent: ContinuousClock.Instant?
        }
        let state = Mutex(State())
    }

    private func run(
        drain: Duration,
        _ body: (_ send: () async throws -> Void, _ answers: AsyncStream<Void>, _ stop: @escaping @Sendable () -> Void) async throws -> Void
    ) async throws -> LoadOutcome {
        let reply = topics.clientReplies(name)
        let inbox = connection.messages
        try await connection.subscribe(reply)
        let book = Book()
        let (answers, answered) = AsyncStream.makeStream(of: Void.self)
        let prefix = name
        let reader = Task {
            for await message in inbox where message.topic == reply {
                let id = String(decoding: message.properties.correlationData ?? [], as: UTF8.self)
                guard id.hasPrefix(prefix + "-"), let index = Int(id.dropFirst(prefix.count + 1)) else { continue }
                let now = ContinuousClock.now
                let error = try? TaskErrorMessage(json: message.payload)
                let done: Bool = book.state.withLock { state in
                    guard let sentAt = state.sentAt[index] else { return false }
                    guard state.answered.insert(index).inserted else {
                        state.outcome.repeated += 1
                        return false
                    }
                    let ms = Double((now - sentAt).components.attoseconds) * 1e-15 + Double((now - sentAt).components.seconds) * 1000
                    if let error {
                        state.outcome.errors[error.code.rawValue, default: 0] += 1
                        if error.code == .overloaded { state.outcome.rejectionLatenciesMs.append(ms) }
                    } else {
                        state.outcome.results += 1
                        state.outcome.resultLatenciesMs.append(ms)
                        if state.sending { state.outcome.resultsWhileSending += 1 }
                        if let first = state.firstSent {
                            let offset = now - first
                            state.outcome.resultOffsets.append(Double(offset.components.seconds) + Double(offset.components.attoseconds) * 1e-18)
                        }
                    }
                    return !state.sending && state.answered.count == state.outcome.sent
                }
                answered.yield()
                if done { break }
            }
            answered.finish()
        }
        var next = 0
        let send: () async throws -> Void = {
            let index = next
            next += 1
            book.state.withLock { state in
                let now = ContinuousClock.now
                state.sentAt[index] = now
                state.outcome.sent += 1
                if state.firstSent == nil { state.firstSent = now }
            }
            try await connection.publish(MQTTMessage(
                topic: topics.requests(task), payload: payload,
                properties: MQTTProperties(contentType: contentType, correlationData: Array("\(prefix)-\(index)".utf8), responseTopic: reply)))
        }
        do {
            try await body(send, answers) { answered.finish() }
        } catch {
            reader.cancel()
            throw error
        }
        let allAnswered: Bool = book.state.withLock { state in
            state.sending = false
            if let first = state.firstSent {
                // Until sending stopped (not the last send: a closed loop may wait long for answers).
                let span = ContinuousClock.now - first
                state.outcome.sendingSeconds = Double(span.components.attoseconds) * 1e-18 + Double(span.components.seconds)
            }
            return state.answered.count == state.outcome.sent
        }
        if !allAnswered {
            let timer = Task {
                try? await Task.sleep(for: drain)
                reader.cancel()
            }
            _ = await reader.value
            timer.cancel()
        } else {
            reader.cancel()
        }
        try? await connection.unsubscribe(reply)
        return book.state.withLock { $0.outcome }
    }
}
