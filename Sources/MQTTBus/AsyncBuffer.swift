/// A multi-producer, multi-consumer FIFO bridging libmosquitto's network thread to async code.
///
/// Unlike `AsyncStream`, a consumer whose task is cancelled only ends its own `next()` call (it
/// returns `nil`): the buffer stays open and the next consumer carries on receiving. Each element
/// goes to exactly one consumer. With a `limit`, the oldest elements are dropped beyond it.
final class AsyncBuffer<Element: Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Element?, Never>
    }

    private struct State {
        var items: [Element?] = []
        var head = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        var finished = false
        var dropped = 0

        var isEmpty: Bool { head == items.count }

        mutating func append(_ element: Element) { items.append(element) }

        mutating func popFirst() -> Element? {
            guard head < items.count else { return nil }
            let element = items[head]
            items[head] = nil
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return element
        }
    }

    private let state = LockedState(State())
    private let limit: Int?

    init(limit: Int? = nil) { self.limit = limit }

    /// Hands `element` to a waiting consumer, or buffers it. Ignored after ``finish()``.
    func push(_ element: Element) {
        let waiter: Waiter? = state.withLock { s in
            if s.finished { return nil }
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.append(element)
            if let limit, s.items.count - s.head > limit {
                _ = s.popFirst()
                s.dropped += 1
            }
            return nil
        }
        waiter?.continuation.resume(returning: element)
    }

    /// Ends the buffer: consumers drain what is buffered, then get `nil`.
    func finish() {
        let waiters: [Waiter] = state.withLock { s in
            s.finished = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    /// Consumers currently suspended in ``next()``.
    var waitingCount: Int { state.withLock { $0.waiters.count } }

    /// Elements dropped because the buffer was over its limit.
    var droppedCount: Int { state.withLock { $0.dropped } }

    /// The next element; `nil` once finished and drained, or when the calling task is cancelled.
    func next() async -> Element? {
        if let element = state.withLock({ $0.popFirst() }) { return element }
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let immediate: Element?? = state.withLock { s in
                    if let element = s.popFirst() { return .some(element) }
                    if s.finished || Task.isCancelled { return .some(nil) }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { s in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
    }
}

/// Inbound messages of one ``MQTTConnection``, with all their properties.
///
/// Iterate it from one task (or several: each message goes to exactly one of them). Cancelling a
/// consumer ends only that consumer's loop; messages keep being buffered for the next one. The
/// sequence ends after ``MQTTConnection/disconnect(sendWill:)`` once the buffer is drained.
/// Messages are buffered without limit until consumed.
public struct MQTTMessageStream: AsyncSequence, Sendable {
    public typealias Element = MQTTMessage
    let buffer: AsyncBuffer<MQTTMessage>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: AsyncBuffer<MQTTMessage>
        public mutating func next() async -> MQTTMessage? { await buffer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}

/// Connection events of one ``MQTTConnection`` (the latest 256 are kept until read).
public struct MQTTEventStream: AsyncSequence, Sendable {
    public typealias Element = MQTTConnectionEvent
    let buffer: AsyncBuffer<MQTTConnectionEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: AsyncBuffer<MQTTConnectionEvent>
        public mutating func next() async -> MQTTConnectionEvent? { await buffer.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}

/// What happened to a connection.
public enum MQTTConnectionEvent: Sendable, Hashable {
    /// The first successful connect.
    case connected(MQTTEndpoint, sessionPresent: Bool)
    /// The connection dropped; automatic reconnection has begun.
    case connectionLost(reason: String)
    /// Connected again after a loss; subscriptions are being restored.
    case reconnected(MQTTEndpoint, sessionPresent: Bool)
}
