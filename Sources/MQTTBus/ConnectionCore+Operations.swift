/// Publish, subscribe and unsubscribe, and the matching of acknowledgements to callers.
///
/// libmosquitto assigns the message id inside the publish/subscribe call, and its network thread
/// may deliver the acknowledgement before that call returns. So both sides meet in `acks`: the
/// caller stores its continuation under the id unless the acknowledgement is already there
/// (`.early`), and the callback resumes the continuation or leaves `.early` behind.
extension ConnectionCore {
    private func liveClient() throws(MQTTError) -> MosquittoClient {
        let (client, phase) = state.withLock { ($0.client, $0.phase) }
        guard phase == .open else { throw MQTTError(.closed, "this connection was disconnected") }
        guard let client else { throw MQTTError(.notConnected, "call connect() before publishing or subscribing") }
        return client
    }

    /// Sends `messages` in order, then waits until each is acknowledged; throws the first failure.
    func publish(_ messages: [MQTTMessage]) async throws {
        guard !messages.isEmpty else { return }
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let outcome = LockedState<(left: Int, error: MQTTError?)>((messages.count, nil))
            let acknowledged: Acknowledged = { error in
                let (done, failure) = outcome.withLock { o in
                    if o.error == nil { o.error = error }
                    o.left -= 1
                    return (o.left == 0, o.error)
                }
                guard done else { return }
                if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
            }
            for (index, message) in messages.enumerated() {
                do throws(MQTTError) {
                    try send(message, acknowledged: acknowledged)
                } catch {
                    for _ in index..<messages.count { acknowledged(error) }
                    return
                }
            }
        }
    }

    /// Hands `message` to libmosquitto and returns; `acknowledged` runs exactly once, with nil or
    /// the failure: for QoS 0 before this returns, for QoS 1 and 2 when the broker's PUBACK /
    /// PUBCOMP arrives (on the network thread) or when the connection is closed first. Throws
    /// (and never calls `acknowledged`) when libmosquitto refuses the message outright.
    func send(_ message: MQTTMessage, acknowledged: @escaping Acknowledged) throws(MQTTError) {
        let client = try liveClient()
        let (rc, mid) = try client.publish(message)
        if rc == MosquittoFailure.success { metrics.sent(payloadBytes: message.payload.count) }
        if message.qos == .atMostOnce {
            guard rc == MosquittoFailure.success else {
                throw MosquittoFailure.error(rc, context: "publishing to '\(message.topic)'")
            }
            state.withLock { s in
                if case .early = s.acks.removeValue(forKey: mid) { return }
                s.acks[mid] = .ignore
            }
            acknowledged(nil)
            return
        }
        // NO_CONN for QoS ≥ 1: libmosquitto has queued the message and sends it after the
        // reconnect; its acknowledgement completes this send then.
        guard rc == MosquittoFailure.success || rc == MosquittoFailure.noConnection else {
            throw MosquittoFailure.error(rc, context: "publishing to '\(message.topic)'")
        }
        // `closed`: finishClosed() already failed the slots; one stored now would never complete.
        let early: (AckResult?, closed: Bool) = state.withLock { s in
            if case let .early(result) = s.acks[mid] {
                s.acks[mid] = nil
                return (result, false)
            }
            if s.phase == .closed { return (nil, true) }
            s.acks[mid] = .publish(acknowledged, topic: message.topic)
            return (nil, false)
        }
        if early.closed {
            acknowledged(MQTTError(.closed, "the connection was closed by disconnect() before this completed"))
        } else if case let .publish(reason) = early.0 {
            acknowledged(Self.publishOutcome(reason: reason, topic: message.topic))
        }
    }

    /// A PUBACK / PUBCOMP's reason code as the publish's outcome: nil, or the broker's refusal.
    static func publishOutcome(reason: Int32, topic: String) -> MQTTError? {
        reason >= 0x80 ? MosquittoFailure.refusal(.publishRefused, reason: reason, what: "a publish to '\(topic)'") : nil
    }

    /// Subscribes and waits for SUBACK. The filter is remembered and restored after reconnects;
    /// if the connection is down, the call completes when the restored subscription is acknowledged.
    func subscribe(_ filter: String, qos: MQTTQoS) async throws {
        let client = try liveClient()
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let closed: Bool = state.withLock { s in
                if s.phase == .closed { return true }
                s.subscriptions[filter] = Subscription(qos: qos, acknowledged: false)
                s.subscribeWaiters[filter, default: []].append(waiter)
                return false
            }
            if closed {
                waiter.resume(throwing: MQTTError(.closed, "the connection was closed by disconnect() before this completed"))
                return
            }
            let (rc, mid) = client.subscribe(filter, qos: qos, options: 0)
            if rc == MosquittoFailure.success {
                let early: [Int32]? = state.withLock { s in
                    if case let .early(.subscribe(granted)) = s.acks[mid] {
                        s.acks[mid] = nil
                        return granted
                    }
                    s.acks[mid] = .subscribe([filter])
                    return nil
                }
                if let early { completeSubscribe([filter], granted: early) }
            } else if rc != MosquittoFailure.noConnection {
                let error = MosquittoFailure.error(rc, context: "subscribing to '\(filter)'")
                let waiters = state.withLock { s in
                    s.subscriptions[filter] = nil
                    return s.subscribeWaiters.removeValue(forKey: filter) ?? []
                }
                for waiter in waiters { waiter.resume(throwing: error) }
            }
            // With no connection, the reconnect restores the subscription and completes the waiters.
        }
    }

    /// Applies a SUBACK to `filters` (one granted QoS or reason code each).
    func completeSubscribe(_ filters: [String], granted: [Int32]) {
        var outcomes: [(Waiter, MQTTError?)] = []
        state.withLock { s in
            for (index, filter) in filters.enumerated() {
                let code = index < granted.count ? granted[index] : 0x80
                let waiters = s.subscribeWaiters.removeValue(forKey: filter) ?? []
                if code >= 0x80 {
                    s.subscriptions[filter] = nil
                    let error = MosquittoFailure.refusal(.subscribeRefused, reason: code, what: "the subscription '\(filter)'")
                    outcomes += waiters.map { ($0, error) }
                } else {
                    s.subscriptions[filter]?.acknowledged = true
                    outcomes += waiters.map { ($0, nil) }
                }
            }
        }
        for (waiter, error) in outcomes {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    func unsubscribe(_ filter: String) async throws {
        let client = try liveClient()
        state.withLock { _ = $0.subscriptions.removeValue(forKey: filter) }
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let (rc, mid) = client.unsubscribe(filter)
            if rc == MosquittoFailure.noConnection {
                waiter.resume()  // forgotten; it will not be restored on reconnect
                return
            }
            guard rc == MosquittoFailure.success else {
                waiter.resume(throwing: MosquittoFailure.error(rc, context: "unsubscribing from '\(filter)'"))
                return
            }
            // Already closed: nothing will acknowledge, and the subscription is gone with the connection.
            let done: Bool = state.withLock { s in
                if case .early(.unsubscribe) = s.acks[mid] {
                    s.acks[mid] = nil
                    return true
                }
                if s.phase == .closed { return true }
                s.acks[mid] = .unsubscribe(waiter, filter: filter)
                return false
            }
            if done { waiter.resume() }
        }
    }

    /// Re-sends every remembered subscription after a (re)connect. Retained messages are resent
    /// only for subscriptions the broker did not keep in the session.
    func restoreSubscriptions(_ client: MosquittoClient) {
        let filters: [(String, MQTTQoS)] = state.withLock { s in s.subscriptions.map { ($0.key, $0.value.qos) } }
        for (filter, qos) in filters {
            let (rc, mid) = client.subscribe(filter, qos: qos, options: MosquittoClient.retainHandlingNewOnly)
            if rc == MosquittoFailure.success {
                state.withLock { $0.acks[mid] = .subscribe([filter]) }
            } else {
                logger.warning("MQTT could not restore a subscription", metadata: [
                    "mqtt.filter": "\(filter)", "mqtt.error": "\(MosquittoFailure.text(rc))",
                ])
            }
        }
    }
}
