import CoreMetrics

/// Messages and payload bytes a connection published and received (`s2m3_bus_messages_total`,
/// `s2m3_bus_bytes_total`, label `direction` = `in` / `out`; docs/operations.md). Made from the
/// global `MetricsSystem` factory, so they record only in a process that bootstrapped one.
struct BusMetrics: Sendable {
    private let messagesIn = Counter(label: "s2m3_bus_messages_total", dimensions: [("direction", "in")])
    private let messagesOut = Counter(label: "s2m3_bus_messages_total", dimensions: [("direction", "out")])
    private let bytesIn = Counter(label: "s2m3_bus_bytes_total", dimensions: [("direction", "in")])
    private let bytesOut = Counter(label: "s2m3_bus_bytes_total", dimensions: [("direction", "out")])

    /// A message handed to the broker.
    func sent(payloadBytes: Int) {
        messagesOut.increment()
        bytesOut.increment(by: payloadBytes)
    }

    /// A message delivered by the broker.
    func received(payloadBytes: Int) {
        messagesIn.increment()
        bytesIn.increment(by: payloadBytes)
    }
}
