import MQTTBus
import Synchronization

/// Requests sent and not yet answered, by request id, as they were published: after a reconnect
/// the client publishes them again, because a broker that restarted may have dropped them (no
/// aggregator had subscribed again yet). Only requests with generated ids are kept: a repeat is
/// answered `duplicate-request`, which the client ignores for those (the first copy's answer follows).
final class PendingRequests: Sendable {
    private let messages = Mutex<[String: MQTTMessage]>([:])

    func add(_ message: MQTTMessage, id: String) { messages.withLock { $0[id] = message } }
    func remove(_ id: String) { _ = messages.withLock { $0.removeValue(forKey: id) } }
    var all: [MQTTMessage] { messages.withLock { Array($0.values) } }
}
