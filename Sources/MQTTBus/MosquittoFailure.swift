internal import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// Turns libmosquitto return codes and MQTT 5 reason codes into ``MQTTError``s that say what to
/// check. The one place where `MOSQ_ERR_…` values are interpreted.
enum MosquittoFailure {
    static let success = MOSQ_ERR_SUCCESS.rawValue
    static let noConnection = MOSQ_ERR_NO_CONN.rawValue

    /// libmosquitto's own words for `rc` (`mosquitto_strerror`), with errno's text for `MOSQ_ERR_ERRNO`.
    static func text(_ rc: Int32, errno errorNumber: Int32 = 0) -> String {
        if rc == MOSQ_ERR_ERRNO.rawValue, errorNumber != 0, let s = strerror(errorNumber) {
            return String(cString: s)
        }
        var said = String(cString: mosquitto_strerror(rc))
        if said.hasSuffix(".") { said.removeLast() }
        return said
    }

    /// The broker's words for an MQTT 5 reason code (`mosquitto_reason_string`).
    static func reasonText(_ reason: Int32) -> String { String(cString: mosquitto_reason_string(reason)) }

    /// An error for return code `rc` from a call made while `context` (e.g. "connecting to …").
    static func error(
        _ rc: Int32,
        context: String,
        errno errorNumber: Int32 = 0,
        detail: String? = nil
    ) -> MQTTError {
        let said = text(rc, errno: errorNumber) + (detail.map { " (\($0))" } ?? "")
        let code: MQTTError.Code
        let hint: String
        switch rc {
        case MOSQ_ERR_ERRNO.rawValue, MOSQ_ERR_EAI.rawValue, MOSQ_ERR_LOOKUP.rawValue:
            code = .brokerUnreachable
            hint = "check the broker address and port, and that the broker is running and reachable"
        case MOSQ_ERR_TLS.rawValue, MOSQ_ERR_TLS_HANDSHAKE.rawValue, MOSQ_ERR_OCSP.rawValue:
            code = .tlsFailure
            hint = "check that caFile is the CA that signed the broker's certificate, that the certificate "
                + "names this host, that the port is the TLS listener, and the client certificate and key"
        case MOSQ_ERR_CONN_REFUSED.rawValue, MOSQ_ERR_AUTH.rawValue:
            code = .connectionRefused
            hint = "check the username and password (or client certificate) and the broker's ACL"
        case MOSQ_ERR_NO_CONN.rawValue:
            code = .notConnected
            hint = "connect first, or wait until the connection is back"
        case MOSQ_ERR_CONN_LOST.rawValue, MOSQ_ERR_KEEPALIVE.rawValue:
            code = .connectionLost
            hint = "the broker closed the connection or the network dropped; check the broker log"
        case MOSQ_ERR_PAYLOAD_SIZE.rawValue, MOSQ_ERR_OVERSIZE_PACKET.rawValue:
            code = .payloadTooLarge
            hint = "send a smaller payload, or raise max_packet_size in the broker config"
        case MOSQ_ERR_INVAL.rawValue, MOSQ_ERR_MALFORMED_UTF8.rawValue, MOSQ_ERR_DUPLICATE_PROPERTY.rawValue,
            MOSQ_ERR_QOS_NOT_SUPPORTED.rawValue, MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue,
            MOSQ_ERR_TOPIC_ALIAS_INVALID.rawValue, MOSQ_ERR_NOT_SUPPORTED.rawValue:
            code = .invalidArgument
            hint = "check the topic or filter (no wildcards when publishing, valid UTF-8), QoS and properties"
        case MOSQ_ERR_PROTOCOL.rawValue, MOSQ_ERR_MALFORMED_PACKET.rawValue:
            code = .library
            hint = "protocol error: check that the peer is an MQTT 5 broker and the properties are valid"
        case MOSQ_ERR_TIMEOUT.rawValue:
            code = .timeout
            hint = "the broker did not answer in time"
        default:
            code = .library
            hint = "see the broker log"
        }
        return MQTTError(code, "\(context): \(said); \(hint)", mosquittoCode: rc)
    }

    /// An error for a CONNACK refusal with MQTT 5 `reason` (≥ 0x80).
    static func connackError(_ reason: Int32, endpoint: MQTTEndpoint, username: String?, brokerSays: String?) -> MQTTError {
        let hint: String
        switch reason {
        case 0x86, 0x87:
            hint = "check the username (\(username.map { "'\($0)'" } ?? "none given")) and password, and the broker's password file and ACL"
        case 0x85:
            hint = "the client id is not accepted; use another"
        case 0x88, 0x89:
            hint = "the broker is unavailable or busy; try another endpoint or later"
        case 0x95:
            hint = "the CONNECT packet is too large (will payload?)"
        default:
            hint = "see the broker log"
        }
        var said = reasonText(reason)
        if let brokerSays { said += ": \(brokerSays)" }
        return MQTTError(.connectionRefused, "broker \(endpoint) refused the connection: \(said); \(hint)", reasonCode: Int(reason))
    }

    /// An error for a refused PUBLISH or SUBSCRIBE (reason ≥ 0x80).
    static func refusal(_ code: MQTTError.Code, reason: Int32, what: String) -> MQTTError {
        let hint = reason == 0x87 ? "the broker's ACL does not allow it for this user" : "see the broker log"
        return MQTTError(code, "broker refused \(what): \(reasonText(reason)); \(hint)", reasonCode: Int(reason))
    }
}
