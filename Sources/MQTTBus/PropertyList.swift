internal import CMosquitto

#if canImport(Glibc)
import Glibc
#endif

/// An owned libmosquitto property list (`mosquitto_property *`), freed on deinit unless handed
/// over to the library with ``release()``.
final class PropertyList {
    private(set) var pointer: OpaquePointer?

    init() {}

    deinit { mosquitto_property_free_all(&pointer) }

    /// Gives the list to libmosquitto (e.g. `mosquitto_will_set_v5` on success).
    func release() -> OpaquePointer? {
        defer { pointer = nil }
        return pointer
    }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            throw MosquittoFailure.error(rc, context: "adding the \(what) property")
        }
    }

    func addByte(_ id: mqtt5_property, _ value: UInt8, _ what: String) throws(MQTTError) {
        try check(mosquitto_property_add_byte(&pointer, Int32(id.rawValue), value), what)
    }

    func addInt32(_ id: mqtt5_property, _ value: UInt32, _ what: String) throws(MQTTError) {
        try check(mosquitto_property_add_int32(&pointer, Int32(id.rawValue), value), what)
    }

    func addString(_ id: mqtt5_property, _ value: String, _ what: String) throws(MQTTError) {
        try check(mosquitto_property_add_string(&pointer, Int32(id.rawValue), value), what)
    }

    func addBinary(_ id: mqtt5_property, _ value: [UInt8], _ what: String) throws(MQTTError) {
        guard value.count <= Int(UInt16.max) else {
            throw MQTTError(.invalidArgument, "\(what) is \(value.count) bytes; MQTT allows at most 65535")
        }
        let rc = value.withUnsafeBytes { raw in
            mosquitto_property_add_binary(&pointer, Int32(id.rawValue), raw.baseAddress, UInt16(value.count))
        }
        try check(rc, what)
    }

    func addStringPair(_ id: mqtt5_property, _ name: String, _ value: String, _ what: String) throws(MQTTError) {
        try check(mosquitto_property_add_string_pair(&pointer, Int32(id.rawValue), name, value), what)
    }

    /// The PUBLISH / will properties of `properties`.
    static func make(_ properties: MQTTProperties) throws(MQTTError) -> PropertyList {
        let list = PropertyList()
        if properties.payloadFormatIndicatorUTF8 {
            try list.addByte(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, 1, "payload format indicator")
        }
        if let expiry = properties.messageExpiry {
            try list.addInt32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, expiry, "message expiry")
        }
        if let contentType = properties.contentType {
            try list.addString(MQTT_PROP_CONTENT_TYPE, contentType, "content type")
        }
        if let responseTopic = properties.responseTopic {
            try list.addString(MQTT_PROP_RESPONSE_TOPIC, responseTopic, "response topic")
        }
        if let correlation = properties.correlationData {
            try list.addBinary(MQTT_PROP_CORRELATION_DATA, correlation, "correlation data")
        }
        for user in properties.userProperties {
            try list.addStringPair(MQTT_PROP_USER_PROPERTY, user.name, user.value, "user property '\(user.name)'")
        }
        return list
    }

    /// Reads the properties S2M3 uses from a received list (others are ignored).
    static func parse(_ list: OpaquePointer?) -> MQTTProperties {
        var result = MQTTProperties()
        var current = list
        while let property = current {
            let id = mosquitto_property_identifier(property)
            switch UInt32(id) {
            case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR.rawValue:
                var value: UInt8 = 0
                if mosquitto_property_read_byte(property, id, &value, false) != nil {
                    result.payloadFormatIndicatorUTF8 = value == 1
                }
            case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue:
                var value: UInt32 = 0
                if mosquitto_property_read_int32(property, id, &value, false) != nil {
                    result.messageExpiry = value
                }
            case MQTT_PROP_CONTENT_TYPE.rawValue:
                result.contentType = readString(property, id)
            case MQTT_PROP_RESPONSE_TOPIC.rawValue:
                result.responseTopic = readString(property, id)
            case MQTT_PROP_CORRELATION_DATA.rawValue:
                var value: UnsafeMutableRawPointer?
                var length: UInt16 = 0
                if mosquitto_property_read_binary(property, id, &value, &length, false) != nil {
                    if let value {
                        result.correlationData = Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
                        free(value)
                    } else {
                        result.correlationData = []
                    }
                }
            case MQTT_PROP_USER_PROPERTY.rawValue:
                var name: UnsafeMutablePointer<CChar>?
                var value: UnsafeMutablePointer<CChar>?
                if mosquitto_property_read_string_pair(property, id, &name, &value, false) != nil {
                    result.userProperties.append(
                        MQTTUserProperty(name.map { String(cString: $0) } ?? "", value.map { String(cString: $0) } ?? "")
                    )
                    free(name)
                    free(value)
                }
            default:
                break
            }
            current = mosquitto_property_next(property)
        }
        return result
    }

    /// The reason string of a CONNACK / DISCONNECT / PUBACK property list, if any.
    static func reasonString(_ list: OpaquePointer?) -> String? {
        guard let list else { return nil }
        return readString(list, Int32(MQTT_PROP_REASON_STRING.rawValue))
    }

    private static func readString(_ property: OpaquePointer, _ id: Int32) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard mosquitto_property_read_string(property, id, &value, false) != nil, let value else { return nil }
        defer { free(value) }
        return String(cString: value)
    }
}
