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

    func publish(_ message: MQTTMessage) async throws {
        let client = try liveClient()
        if message.qos == .atMostOnce {
            let (rc, mid) = try client.publish(message)
            guard rc == MosquittoFailure.success else {
                throw MosquittoFailure.error(rc, context: "publishing to '\(message.topic)'")
            }
            state.withLock { s in
                if case .early = s.acks.removeValue(forKey: mid) { return }
                s.acks[mid] = .ignore
            }
            return
        }
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let rc: Int32
            let mid: Int32
            do throws(MQTTError) {
                (rc, mid) = try client.publish(message)
            } catch {
                waiter.resume(throwing: error)
                return
            }
            // NO_CONN for QoS ≥ 1: libmosquitto has queued the message and sends it after the
            // reconnect; its acknowledgement completes this call then.
            guard rc == MosquittoFailure.success || rc == MosquittoFailure.noConnection else {
                waiter.resume(throwing: MosquittoFailure.error(rc, context: "publishing to '\(message.topic)'"))
                return
            }
            // `closed`: finishClosed() already failed the waiters; a waiter stored now would never resume.
            let early: (AckResult?, closed: Bool) = state.withLock { s in
                if case let .early(result) = s.acks[mid] {
                    s.acks[mid] = nil
                    return (result, false)
                }
                if s.phase == .closed { return (nil, true) }
                s.acks[mid] = .publish(waiter, topic: message.topic)
                return (nil, false)
            }
            if early.closed {
                waiter.resume(throwing: MQTTError(.closed, "the connection was closed by disconnect() before this completed"))
            } else if case let .publish(reason) = early.0 {
                Self.completePublish(waiter, reason: reason, topic: message.topic)
            }
        }
    }

    static func completePublish(_ waiter: Waiter, reason: Int32, topic: String) {
        if reason >= 0x80 {
            waiter.resume(throwing: MosquittoFailure.refusal(.publishRefused, reason: reason, what: "a publish to '\(topic)'"))
        } else {
            waiter.resume()
        }
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
