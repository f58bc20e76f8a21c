internal import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// Owns one libmosquitto client handle (`struct mosquitto *`) and is the only type that calls
/// `mosquitto_*` on it.
///
/// `@unchecked Sendable` because the handle is used from two kinds of thread, as libmosquitto
/// allows in threaded mode (`mosquitto_threaded_set`): `connect` and `loop` run only on the
/// connection's network thread; `publish`, `subscribe`, `unsubscribe` and `disconnect` may run on
/// any thread (libmosquitto guards its queues with its own mutexes and wakes the network thread).
/// The handle is destroyed in `deinit`, after the network thread has ended (it retains the owner).
final class MosquittoClient: @unchecked Sendable {
    private let handle: OpaquePointer
    private let connectProperties = PropertyList()
    private let keepAlive: Int32

    /// Creates and configures the handle: MQTT 5, TCP_NODELAY, threaded mode, credentials, TLS,
    /// will, session expiry. `context` is handed back to every callback as `obj`.
    init(configuration: MQTTConfiguration, context: UnsafeMutableRawPointer) throws(MQTTError) {
        MosquittoLibrary.initialize()
        guard !configuration.clientID.isEmpty else {
            throw MQTTError(.invalidArgument, "the client id is empty; give each client a unique id")
        }
        guard configuration.keepAlive >= 5, configuration.keepAlive <= 65535 else {
            throw MQTTError(.invalidArgument, "keepAlive \(configuration.keepAlive) s is outside 5…65535")
        }
        guard !configuration.endpoints.isEmpty else {
            throw MQTTError(.invalidArgument, "no broker endpoints given")
        }
        guard let handle = mosquitto_new(configuration.clientID, configuration.cleanStart, context) else {
            throw MQTTError(.library, "mosquitto_new failed: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.keepAlive = Int32(configuration.keepAlive)

        func check(_ rc: Int32, _ context: String) throws(MQTTError) {
            guard rc == MosquittoFailure.success else { throw MosquittoFailure.error(rc, context: context) }
        }
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "selecting MQTT 5")
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "enabling TCP_NODELAY")
        try check(mosquitto_threaded_set(handle, true), "enabling threaded mode")

        if configuration.username != nil || configuration.password != nil {
            try check(
                mosquitto_username_pw_set(handle, configuration.username, configuration.password),
                "setting the username and password"
            )
        }
        if let tls = configuration.tls { try configureTLS(tls) }
        if let will = configuration.will { try configureWill(will) }
        if let expiry = configuration.sessionExpiry {
            try connectProperties.addInt32(MQTT_PROP_SESSION_EXPIRY_INTERVAL, expiry, "session expiry")
        }
        ConnectionCallbacks.install(on: handle)
    }

    deinit { mosquitto_destroy(handle) }

    private func configureTLS(_ tls: MQTTTLSConfiguration) throws(MQTTError) {
        for (role, path) in [("CA file", tls.caFile), ("client certificate", tls.certFile), ("client key", tls.keyFile)] {
            if let path, access(path, R_OK) != 0 {
                throw MQTTError(.tlsFailure, "cannot read the \(role) '\(path)': \(String(cString: strerror(errno))); check the path and permissions")
            }
        }
        if (tls.certFile == nil) != (tls.keyFile == nil) {
            throw MQTTError(.invalidArgument, "TLS client certificate and key must be given together")
        }
        let rc = mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil)
        guard rc == MosquittoFailure.success else {
            throw MosquittoFailure.error(rc, context: "loading TLS files (CA \(tls.caFile))")
        }
        if let name = tls.serverName, !tls.insecureSkipHostnameCheck {
            // OpenSSL checks `name` during the handshake; libmosquitto's own check (against the
            // host connected to) is turned off. libmosquitto takes its own reference to the context.
            guard !name.isEmpty, let context = s2m3_tls_context_requiring_name(name) else {
                throw MQTTError(.invalidArgument, "TLS server name '\(name)' is not a host name or IP address")
            }
            defer { s2m3_tls_context_free(context) }
            let set = mosquitto_void_option(handle, MOSQ_OPT_SSL_CTX, context)
            guard set == MosquittoFailure.success else {
                throw MosquittoFailure.error(set, context: "setting the TLS server name '\(name)'")
            }
            _ = mosquitto_int_option(handle, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 1)
            _ = mosquitto_tls_insecure_set(handle, true)
        }
        if tls.insecureSkipHostnameCheck {
            _ = mosquitto_tls_insecure_set(handle, true)
        }
    }

    private func configureWill(_ will: MQTTMessage) throws(MQTTError) {
        let properties = try PropertyList.make(will.properties)
        let rc = will.payload.withUnsafeBytes { raw in
            mosquitto_will_set_v5(
                handle, will.topic, Int32(clamping: raw.count), raw.baseAddress, will.qos.rawValue, will.retain,
                properties.pointer
            )
        }
        guard rc == MosquittoFailure.success else {
            throw MosquittoFailure.error(rc, context: "setting the last will on '\(will.topic)'")
        }
        _ = properties.release()  // libmosquitto owns the list now
    }

    // MARK: Network thread only

    /// Starts a (blocking) TCP connect and, with TLS, the handshake, then queues CONNECT.
    func connect(to endpoint: MQTTEndpoint) -> (rc: Int32, errno: Int32) {
        errno = 0
        let rc = mosquitto_connect_bind_v5(handle, endpoint.host, Int32(endpoint.port), keepAlive, nil, connectProperties.pointer)
        return (rc, errno)
    }

    /// One pass of the network loop: wait up to `timeout` ms for traffic, read, write, keep alive.
    func loop(timeout: Int32) -> (rc: Int32, errno: Int32) {
        errno = 0
        let rc = mosquitto_loop(handle, timeout, 1)
        return (rc, errno)
    }

    // MARK: Any thread

    func publish(_ message: MQTTMessage) throws(MQTTError) -> (rc: Int32, mid: Int32) {
        guard message.payload.count <= 268_435_455 else {
            throw MQTTError(.payloadTooLarge, "payload of \(message.payload.count) bytes exceeds MQTT's 256 MB limit")
        }
        // No property list at all (no allocation) for the common plain message.
        let properties = message.properties.isEmpty ? nil : try PropertyList.make(message.properties)
        HopTrace.mark("tx " + message.topic)
        defer { HopTrace.mark("queued") }
        var mid: Int32 = 0
        let rc = message.payload.withUnsafeBytes { raw in
            mosquitto_publish_v5(
                handle, &mid, message.topic, Int32(raw.count), raw.baseAddress, message.qos.rawValue, message.retain,
                properties?.pointer
            )
        }
        return (rc, mid)
    }

    func subscribe(_ filter: String, qos: MQTTQoS, options: Int32) -> (rc: Int32, mid: Int32) {
        var mid: Int32 = 0
        let rc = mosquitto_subscribe_v5(handle, &mid, filter, qos.rawValue, options, nil)
        return (rc, mid)
    }

    func unsubscribe(_ filter: String) -> (rc: Int32, mid: Int32) {
        var mid: Int32 = 0
        let rc = mosquitto_unsubscribe_v5(handle, &mid, filter, nil)
        return (rc, mid)
    }

    /// Queues DISCONNECT (reason 0, or 0x04 to make the broker send the will) and wakes the loop.
    func disconnect(sendWill: Bool) -> Int32 {
        mosquitto_disconnect_v5(handle, sendWill ? Int32(MQTT_RC_DISCONNECT_WITH_WILL_MSG.rawValue) : 0, nil)
    }

    /// Subscription option: resend retained messages only for subscriptions the broker did not have.
    static let retainHandlingNewOnly = Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue)
}

/// Process-wide `mosquitto_lib_init`, run once.
enum MosquittoLibrary {
    private static let initialized: Bool = {
        mosquitto_lib_init()
        return true
    }()

    static func initialize() { _ = initialized }
}
