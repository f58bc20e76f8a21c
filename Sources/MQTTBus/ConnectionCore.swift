import Foundation
import Logging

/// The shared state of one ``MQTTConnection`` and the body of its network thread.
///
/// Every mutable field lives in `state` (a pthread-mutex ``LockedState``). Continuations are
/// always resumed after the lock is released. The network thread retains the core for its whole
/// life, so the `obj` pointer given to libmosquitto (unretained) stays valid during callbacks, and
/// the libmosquitto handle is destroyed only after the thread has ended.
final class ConnectionCore: Sendable {
    typealias Waiter = CheckedContinuation<Void, any Error>
    /// What a sent publish is told at its acknowledgement: nil, or why it failed.
    typealias Acknowledged = @Sendable (MQTTError?) -> Void

    enum Phase { case open, closing, closed }

    /// One acknowledgement slot per libmosquitto message id.
    enum AckSlot {
        case publish(Acknowledged, topic: String)
        case subscribe([String])
        case unsubscribe(Waiter, filter: String)
        /// A QoS 0 publish: its "sent" callback is not awaited.
        case ignore
        /// The acknowledgement arrived before the caller registered for it.
        case early(AckResult)
    }

    enum AckResult {
        case publish(reason: Int32)
        case subscribe(granted: [Int32])
        case unsubscribe
    }

    struct Subscription {
        var qos: MQTTQoS
        var acknowledged: Bool
    }

    struct State {
        var machine: ConnectionStateMachine
        var phase = Phase.open
        var client: MosquittoClient?
        var threadRunning = false
        var connectWaiters: [Waiter] = []
        var startErrors: [MQTTError] = []
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
        var acks: [Int32: AckSlot] = [:]
        var subscriptions: [String: Subscription] = [:]
        var subscribeWaiters: [String: [Waiter]] = [:]
        /// CONNACK refusal of the attempt in progress (reported when the loop then fails).
        var refusal: MQTTError?
        /// Last error line libmosquitto logged (OpenSSL's reason for a TLS failure lands here).
        var lastLogError: String?
        /// Reason of the last DISCONNECT / connection loss, for the event text.
        var lossReason: String?
        var drainDeadline: ContinuousClock.Instant?
    }

    let configuration: MQTTConfiguration
    let logger: Logger
    let state: LockedState<State>
    let messages = AsyncBuffer<MQTTMessage>()
    let metrics = BusMetrics()
    let events = AsyncBuffer<MQTTConnectionEvent>(limit: 256)
    /// Interrupts the network thread's back-off sleeps.
    let wake = ConditionLock()

    init(configuration: MQTTConfiguration, logger: Logger) {
        var logger = logger
        logger[metadataKey: "mqtt.client_id"] = "\(configuration.clientID)"
        self.configuration = configuration
        self.logger = logger
        self.state = LockedState(State(machine: ConnectionStateMachine(
            endpointCount: max(configuration.endpoints.count, 1),
            reconnectDelay: configuration.reconnectDelay,
            reconnectDelayMax: configuration.reconnectDelayMax,
            connectTimeout: configuration.connectTimeout
        )))
    }

    var isConnected: Bool {
        state.withLock { s in
            if case .connected = s.machine.state { return true }
            return false
        }
    }

    // MARK: Connect and disconnect

    func connect() async throws {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            enum Action { case fail(MQTTError), done, wait, startThread }
            let action: Action = state.withLock { s in
                guard s.phase == .open else {
                    return .fail(MQTTError(.closed, "this connection was disconnected; create a new MQTTConnection"))
                }
                if case .connected = s.machine.state { return .done }
                if s.client == nil {
                    do throws(MQTTError) {
                        s.client = try MosquittoClient(
                            configuration: configuration,
                            context: Unmanaged.passUnretained(self).toOpaque()
                        )
                    } catch {
                        return .fail(error)
                    }
                }
                s.connectWaiters.append(waiter)
                if s.machine.state == .idle {
                    s.startErrors = []
                    s.machine.start(now: .now)
                }
                if s.threadRunning { return .wait }
                s.threadRunning = true
                return .startThread
            }
            switch action {
            case let .fail(error): waiter.resume(throwing: error)
            case .done: waiter.resume()
            case .wait: break
            case .startThread:
                let thread = Thread { [self] in runNetworkLoop() }
                thread.name = "mqtt \(configuration.clientID)"
                thread.start()
            }
        }
    }

    /// Ends the connection: DISCONNECT (reason 0x04 with `sendWill`), stop the thread, fail waiters.
    func disconnect(sendWill: Bool) async {
        let mustWait = requestStop(sendWill: sendWill)
        guard mustWait else { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { s in
                if s.phase != .closed { s.exitWaiters.append(waiter) }
                return s.phase == .closed
            }
            if closed { waiter.resume() }
        }
    }

    /// Starts closing; returns whether a network thread is running that will finish the job.
    @discardableResult
    func requestStop(sendWill: Bool) -> Bool {
        let (client, connected, running): (MosquittoClient?, Bool, Bool) = state.withLock { s in
            guard s.phase == .open else { return (nil, false, s.threadRunning) }
            s.phase = .closing
            var connected = false
            if case .connected = s.machine.state {
                connected = true
                s.drainDeadline = .now + .seconds(1)
            } else {
                s.machine.stop()
            }
            return (s.client, connected, s.threadRunning)
        }
        if connected, let client {
            let rc = client.disconnect(sendWill: sendWill)
            if rc != MosquittoFailure.success {
                state.withLock { $0.machine.stop() }
            }
        }
        wake.signal()
        if !running { finishClosed() }
        return running
    }

    // MARK: Network thread

    private func runNetworkLoop() {
        guard let client = state.withLock({ $0.client }) else { return }
        while true {
            let now = ContinuousClock.now
            let step: ConnectionStateMachine.Step = state.withLock { s in
                if let deadline = s.drainDeadline, now >= deadline { s.machine.stop() }
                if s.machine.attemptTimedOut(now: now) { return .loop(timeout: .zero) }
                let step = s.machine.nextStep(now: now)
                if step == .exit { s.threadRunning = false }
                return step
            }
            switch step {
            case let .connect(index):
                let endpoint = configuration.endpoints[index]
                state.withLock { s in
                    s.refusal = nil
                    s.lastLogError = nil
                }
                logger.debug("MQTT connecting", metadata: ["mqtt.endpoint": "\(endpoint)"])
                let (rc, errorNumber) = client.connect(to: endpoint)
                if rc != MosquittoFailure.success {
                    let detail = state.withLock { $0.lastLogError }
                    attemptFailed(MosquittoFailure.error(rc, context: "connecting to \(endpoint)", errno: errorNumber, detail: detail))
                }
            case let .loop(timeout):
                if state.withLock({ $0.machine.attemptTimedOut(now: now) }) {
                    let endpoint = configuration.endpoints[state.withLock { $0.machine.currentEndpoint } ?? 0]
                    attemptFailed(MQTTError(.timeout, "no CONNACK from \(endpoint) within \(configuration.connectTimeout); check the address and that it is an MQTT broker (TLS port needs TLS settings)"))
                    continue
                }
                let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                let (rc, errorNumber) = client.loop(timeout: milliseconds)
                if rc != MosquittoFailure.success { loopFailed(rc, errno: errorNumber) }
            case let .sleep(duration):
                wake.wait(seconds: Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
            case .exit:
                threadExited()
                return
            }
        }
    }

    /// The network loop returned an error: a failed attempt, a lost connection, or the end of a drain.
    private func loopFailed(_ rc: Int32, errno errorNumber: Int32) {
        enum Kind { case attempt(MQTTError), lost, none }
        let kind: Kind = state.withLock { s in
            if s.drainDeadline != nil || s.phase != .open {
                s.machine.stop()
                return .none
            }
            switch s.machine.state {
            case let .connecting(index, _):
                let endpoint = configuration.endpoints[index]
                return .attempt(s.refusal ?? MosquittoFailure.error(rc, context: "connecting to \(endpoint)", errno: errorNumber, detail: s.lastLogError))
            case .connected:
                return .lost
            default:
                return .none
            }
        }
        switch kind {
        case let .attempt(error): attemptFailed(error)
        case .lost: connectionLost(rc, errno: errorNumber)
        case .none: break
        }
    }

    private func attemptFailed(_ error: MQTTError) {
        logger.debug("MQTT connect attempt failed", metadata: ["mqtt.error": "\(error)"])
        let waiters: [Waiter]? = state.withLock { s in
            if !s.machine.everConnected { s.startErrors.append(error) }
            guard s.machine.attemptFailed(now: .now) == .startFailed else { return nil }
            defer { s.connectWaiters.removeAll() }
            return s.connectWaiters
        }
        guard let waiters else { return }
        let errors = state.withLock { $0.startErrors }
        var combined = errors.last ?? error
        if errors.count > 1 {
            combined.message = "no endpoint accepted the connection: " + errors.map(\.message).joined(separator: " | ")
        }
        for waiter in waiters { waiter.resume(throwing: combined) }
    }

    private func connectionLost(_ rc: Int32, errno errorNumber: Int32) {
        let reason: String = state.withLock { s in
            _ = s.machine.connectionLost(now: .now)
            for key in s.subscriptions.keys { s.subscriptions[key]?.acknowledged = false }
            s.acks = s.acks.filter { if case .ignore = $0.value { return false } else { return true } }
            return s.lossReason ?? MosquittoFailure.text(rc, errno: errorNumber)
        }
        logger.warning("MQTT connection lost; reconnecting", metadata: ["mqtt.reason": "\(reason)"])
        events.push(.connectionLost(reason: reason))
    }

    private func threadExited() {
        let closing = state.withLock { s in s.phase != .open }
        if closing { finishClosed() }
    }

    /// Fails everything still waiting and ends the streams. Runs once, when closed and the thread is gone.
    private func finishClosed() {
        let (waiters, sent, exitWaiters): ([Waiter], [Acknowledged], [CheckedContinuation<Void, Never>]) = state.withLock { s in
            guard s.phase != .closed else { return ([], [], []) }
            s.phase = .closed
            var waiters = s.connectWaiters
            var sent: [Acknowledged] = []
            for slot in s.acks.values {
                switch slot {
                case let .publish(acknowledged, _): sent.append(acknowledged)
                case let .unsubscribe(waiter, _): waiters.append(waiter)
                default: break
                }
            }
            waiters += s.subscribeWaiters.values.joined()
            s.connectWaiters = []
            s.acks = [:]
            s.subscribeWaiters = [:]
            defer { s.exitWaiters = [] }
            return (waiters, sent, s.exitWaiters)
        }
        let error = MQTTError(.closed, "the connection was closed by disconnect() before this completed")
        for waiter in waiters { waiter.resume(throwing: error) }
        for acknowledged in sent { acknowledged(error) }
        messages.finish()
        events.finish()
        for waiter in exitWaiters { waiter.resume() }
    }
}
