internal import CMosquitto
import Logging

/// The C callbacks libmosquitto calls on the network thread (inside `mosquitto_loop`). Each turns
/// `obj` back into the ``ConnectionCore`` (kept alive by the network thread) and forwards.
enum ConnectionCallbacks {
    fileprivate static func core(_ obj: UnsafeMutableRawPointer?) -> ConnectionCore? {
        guard let obj else { return nil }
        return Unmanaged<ConnectionCore>.fromOpaque(obj).takeUnretainedValue()
    }

    static func install(on handle: OpaquePointer) {
        mosquitto_connect_v5_callback_set(handle) { _, obj, rc, flags, properties in
            ConnectionCallbacks.core(obj)?.onConnect(rc: rc, sessionPresent: flags & 1 == 1, reasonString: PropertyList.reasonString(properties))
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, obj, rc, properties in
            ConnectionCallbacks.core(obj)?.onDisconnect(rc: rc, reasonString: PropertyList.reasonString(properties))
        }
        mosquitto_publish_v5_callback_set(handle) { _, obj, mid, reason, _ in
            ConnectionCallbacks.core(obj)?.onPublish(mid: mid, reason: reason)
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, obj, mid, count, granted, _ in
            let codes = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
            ConnectionCallbacks.core(obj)?.onSubscribe(mid: mid, granted: codes)
        }
        mosquitto_unsubscribe_v5_callback_set(handle) { _, obj, mid, _ in
            ConnectionCallbacks.core(obj)?.onUnsubscribe(mid: mid)
        }
        mosquitto_message_v5_callback_set(handle) { _, obj, message, properties in
            guard let core = ConnectionCallbacks.core(obj), let message else { return }
            let m = message.pointee
            HopTrace.mark("rx " + (m.topic.map { String(cString: $0) } ?? ""))
            let payload: [UInt8] = m.payloadlen > 0 && m.payload != nil
                ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen)))
                : []
            core.metrics.received(payloadBytes: payload.count)
            core.messages.push(MQTTMessage(
                topic: m.topic.map { String(cString: $0) } ?? "",
                payload: payload,
                qos: MQTTQoS(rawValue: m.qos) ?? .atMostOnce,
                retain: m.retain,
                properties: PropertyList.parse(properties)
            ))
        }
        mosquitto_log_callback_set(handle) { _, obj, level, text in
            guard let core = ConnectionCallbacks.core(obj), let text else { return }
            core.onLog(isError: level & Int32(MOSQ_LOG_ERR) != 0, text: String(cString: text))
        }
    }
}

extension ConnectionCore {
    func onConnect(rc: Int32, sessionPresent: Bool, reasonString: String?) {
        guard rc == 0 else {
            state.withLock { s in
                let endpoint = configuration.endpoints[s.machine.currentEndpoint ?? 0]
                s.refusal = MosquittoFailure.connackError(rc, endpoint: endpoint, username: configuration.username, brokerSays: reasonString)
            }
            return
        }
        let (outcome, client, waiters): (ConnectionStateMachine.Outcome, MosquittoClient?, [Waiter]) = state.withLock { s in
            s.lossReason = nil
            defer { s.connectWaiters = [] }
            return (s.machine.connackAccepted(), s.client, s.connectWaiters)
        }
        guard case let .connected(index, first) = outcome else { return }
        let endpoint = configuration.endpoints[index]
        if let client { restoreSubscriptions(client) }
        logger.info(first ? "MQTT connected" : "MQTT reconnected", metadata: [
            "mqtt.endpoint": "\(endpoint)", "mqtt.session_present": "\(sessionPresent)",
        ])
        events.push(first ? .connected(endpoint, sessionPresent: sessionPresent) : .reconnected(endpoint, sessionPresent: sessionPresent))
        for waiter in waiters { waiter.resume() }
    }

    func onDisconnect(rc: Int32, reasonString: String?) {
        guard rc != 0 else { return }
        // MQTT 5 reason codes from a broker DISCONNECT are ≥ 0x80; smaller values are MOSQ_ERR codes.
        var reason = rc >= 0x80 ? MosquittoFailure.reasonText(rc) : MosquittoFailure.text(rc)
        if let reasonString { reason += ": \(reasonString)" }
        state.withLock { $0.lossReason = reason }
    }

    func onPublish(mid: Int32, reason: Int32) {
        let slot: AckSlot? = state.withLock { s in
            let slot = s.acks.removeValue(forKey: mid)
            if slot == nil { s.acks[mid] = .early(.publish(reason: reason)) }
            return slot
        }
        if case let .publish(acknowledged, topic) = slot {
            acknowledged(Self.publishOutcome(reason: reason, topic: topic))
        }
    }

    func onSubscribe(mid: Int32, granted: [Int32]) {
        let slot: AckSlot? = state.withLock { s in
            let slot = s.acks.removeValue(forKey: mid)
            if slot == nil { s.acks[mid] = .early(.subscribe(granted: granted)) }
            return slot
        }
        if case let .subscribe(filters) = slot { completeSubscribe(filters, granted: granted) }
    }

    func onUnsubscribe(mid: Int32) {
        let slot: AckSlot? = state.withLock { s in
            let slot = s.acks.removeValue(forKey: mid)
            if slot == nil { s.acks[mid] = .early(.unsubscribe) }
            return slot
        }
        if case let .unsubscribe(waiter, _) = slot { waiter.resume() }
    }

    func onLog(isError: Bool, text: String) {
        if isError { state.withLock { $0.lastLogError = text } }
        logger.trace("libmosquitto", metadata: ["mqtt.log": "\(text)"])
    }
}
