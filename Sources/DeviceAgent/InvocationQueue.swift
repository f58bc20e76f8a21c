/// The bounded queue of a device's invocations (pure state; the agent holds the work itself).
///
/// `capacity` counts invocations waiting *or* running: when that many are in, a new one is refused
/// (the agent answers `busy` at once). At most `workers` run at a time; the rest wait in arrival
/// order. A worker may take waiting invocations along in a batch (``take(upTo:where:)``): they
/// count as *riding* until ``release(riders:)``.
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
    /// Invocations taken from the waiting line into a running batch, not yet released.
    public private(set) var riding = 0

    public init(capacity: Int, workers: Int) {
        self.capacity = max(1, capacity)
        self.workers = max(1, workers)
    }

    /// Invocations waiting or running.
    public var depth: Int { waitingCount + running + riding }
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

    /// Takes up to `count` waiting invocations that `matches` accepts, in arrival order, to run in
    /// a batch with one that is starting; the rest keep their places.
    public mutating func take(upTo count: Int, where matches: (Ticket) -> Bool) -> [Ticket] {
        guard count > 0, head < waiting.count else { return [] }
        var taken: [Ticket] = [], kept: [Ticket] = []
        for ticket in waiting[head...] {
            if taken.count < count, matches(ticket) { taken.append(ticket) } else { kept.append(ticket) }
        }
        guard !taken.isEmpty else { return [] }
        waiting = kept
        head = 0
        riding += taken.count
        return taken
    }

    /// A batch ended: its `count` taken invocations leave the queue.
    public mutating func release(riders count: Int) {
        precondition(count >= 0 && count <= riding, "release(riders:) of more than were taken")
        riding -= count
    }

    /// Puts taken invocations back at the head of the waiting line (a batch that could not form).
    public mutating func putBack(_ tickets: [Ticket]) {
        waiting = tickets + waiting[head...]
        head = 0
    }
}
