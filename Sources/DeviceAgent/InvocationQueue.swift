/// The bounded queue of a device's invocations (pure state; the agent holds the work itself).
///
/// `capacity` counts invocations waiting *or* running: when that many are in, a new one is refused
/// (the agent answers `busy` at once). At most `workers` run at a time; the rest wait in arrival
/// order.
public struct InvocationQueue<Ticket: Hashable & Sendable>: Sendable {
    public enum Admission: Sendable, Hashable {
        /// Start it now (a worker was free).
        case start
        /// Queued behind others; ``finish()`` hands it out later.
        case wait
        /// The queue is full: answer `busy`.
        case busy
    }

    public let capacity: Int
    public let workers: Int
    private var waiting: [Ticket] = []
    private var head = 0
    public private(set) var running = 0

    public init(capacity: Int, workers: Int) {
        self.capacity = max(1, capacity)
        self.workers = max(1, workers)
    }

    /// Invocations waiting or running.
    public var depth: Int { waitingCount + running }
    public var waitingCount: Int { waiting.count - head }

    public mutating func admit(_ ticket: Ticket) -> Admission {
        guard depth < capacity else { return .busy }
        if running < workers {
            running += 1
            return .start
        }
        waiting.append(ticket)
        return .wait
    }

    /// One running invocation ended; returns the waiting one that starts in its place, if any.
    public mutating func finish() -> Ticket? {
        precondition(running > 0, "finish() without a running invocation")
        guard head < waiting.count else {
            running -= 1
            return nil
        }
        let next = waiting[head]
        head += 1
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return next
    }
}
