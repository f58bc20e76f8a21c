/// The connect / reconnect logic of one connection, as a pure state machine (no I/O, no clock of
/// its own): the network thread feeds it events and the current time and performs its actions.
///
/// - First connect: endpoints are tried in order, once each; if all fail, the start fails with the
///   errors seen.
/// - After a loss: wait `reconnectDelay`, retry the same endpoint, then the next ones in turn,
///   doubling the delay after each failure up to `reconnectDelayMax`.
/// - Each attempt (TCP, TLS, CONNACK) must finish within `connectTimeout`.
struct ConnectionStateMachine {
    enum State: Equatable {
        case idle
        case connecting(endpoint: Int, deadline: ContinuousClock.Instant)
        case connected(endpoint: Int)
        case waiting(endpoint: Int, until: ContinuousClock.Instant)
        case stopped
    }

    /// What the network thread should do next.
    enum Step: Equatable {
        /// Start an attempt on this endpoint (blocking TCP connect, queue CONNECT).
        case connect(endpoint: Int)
        /// Run the network loop for at most this long (attempt in progress, or connected).
        case loop(timeout: Duration)
        /// Sleep (interruptibly) for at most this long, then ask again.
        case sleep(Duration)
        /// End the thread.
        case exit
    }

    /// What the shell must report to the caller after an event.
    enum Outcome: Equatable {
        case none
        /// The first connect succeeded / a reconnect succeeded.
        case connected(endpoint: Int, first: Bool)
        /// Every endpoint failed on the first connect; the thread ends.
        case startFailed
        /// An established connection was lost; reconnection is scheduled.
        case lost
    }

    let endpointCount: Int
    let reconnectDelay: Duration
    let reconnectDelayMax: Duration
    let connectTimeout: Duration
    /// Longest single loop pass while connected (keep-alive is checked after each pass).
    let loopInterval: Duration = .seconds(1)

    private(set) var state: State = .idle
    private(set) var everConnected = false
    private(set) var consecutiveFailures = 0

    init(endpointCount: Int, reconnectDelay: Duration, reconnectDelayMax: Duration, connectTimeout: Duration) {
        precondition(endpointCount > 0)
        self.endpointCount = endpointCount
        self.reconnectDelay = max(reconnectDelay, .zero)
        self.reconnectDelayMax = max(reconnectDelayMax, reconnectDelay)
        self.connectTimeout = connectTimeout
    }

    /// The back-off before the next attempt after `failures` consecutive failed attempts.
    func backoff(afterFailures failures: Int) -> Duration {
        var delay = reconnectDelay
        var n = 1
        while n < failures, delay < reconnectDelayMax {
            delay = delay * 2
            n += 1
        }
        return min(delay, reconnectDelayMax)
    }

    /// `connect()` was called: begin the first cycle (a retry after a failed start is a first cycle too).
    mutating func start(now: ContinuousClock.Instant) {
        guard state == .idle else { return }
        state = .waiting(endpoint: 0, until: now)
    }

    /// The next step at `now`; moves on from expired waits and timed-out attempts.
    mutating func nextStep(now: ContinuousClock.Instant) -> Step {
        switch state {
        case .idle, .stopped:
            return .exit
        case let .connecting(_, deadline):
            if now >= deadline {
                // The shell reports the timeout through attemptFailed; this only bounds the pass.
                return .loop(timeout: .zero)
            }
            return .loop(timeout: min(deadline - now, .milliseconds(100)))
        case .connected:
            return .loop(timeout: loopInterval)
        case let .waiting(endpoint, until):
            if now >= until {
                state = .connecting(endpoint: endpoint, deadline: now + connectTimeout)
                return .connect(endpoint: endpoint)
            }
            return .sleep(until - now)
        }
    }

    /// Whether the attempt in progress has run out of time.
    func attemptTimedOut(now: ContinuousClock.Instant) -> Bool {
        if case let .connecting(_, deadline) = state { return now >= deadline }
        return false
    }

    /// The endpoint of the attempt in progress or of the live connection.
    var currentEndpoint: Int? {
        switch state {
        case let .connecting(endpoint, _), let .connected(endpoint), let .waiting(endpoint, _): return endpoint
        case .idle, .stopped: return nil
        }
    }

    /// The attempt in progress failed (TCP, TLS, timeout, CONNACK refusal).
    mutating func attemptFailed(now: ContinuousClock.Instant) -> Outcome {
        guard case let .connecting(endpoint, _) = state else { return .none }
        let next = (endpoint + 1) % endpointCount
        if !everConnected {
            if endpoint + 1 < endpointCount {
                state = .waiting(endpoint: next, until: now)  // try the next endpoint at once
                return .none
            }
            state = .idle
            return .startFailed
        }
        consecutiveFailures += 1
        state = .waiting(endpoint: next, until: now + backoff(afterFailures: consecutiveFailures))
        return .none
    }

    /// CONNACK with success.
    mutating func connackAccepted() -> Outcome {
        guard case let .connecting(endpoint, _) = state else { return .none }
        state = .connected(endpoint: endpoint)
        consecutiveFailures = 0
        let first = !everConnected
        everConnected = true
        return .connected(endpoint: endpoint, first: first)
    }

    /// The live connection dropped.
    mutating func connectionLost(now: ContinuousClock.Instant) -> Outcome {
        guard case let .connected(endpoint) = state else { return .none }
        state = .waiting(endpoint: endpoint, until: now + reconnectDelay)
        return .lost
    }

    /// `disconnect()` was called.
    mutating func stop() { state = .stopped }
}
