import MQTTBus
import S2M3Bus
import S2M3Core

/// The aggregator's presence on the bus: its retained state (with the connection's last will) and
/// its telemetry (topics.md, `aggregators/{aggregator}/state` and `…/telemetry`).
extension AggregatorService {
    /// The identity of one run with `configuration` (its id, session and topics).
    static func presence(for configuration: AggregatorConfiguration) -> ServicePresence {
        ServicePresence(role: .aggregator, id: configuration.id, session: configuration.session, topics: configuration.topics)
    }

    /// The last will to register on the aggregator's connection: its `offline` state, reason `last-will`.
    public static func will(for configuration: AggregatorConfiguration) throws(MessageError) -> MQTTMessage {
        try presence(for: configuration).will()
    }

    /// The telemetry now (also what is published).
    public func telemetry() -> AggregatorTelemetry {
        recent.telemetry(aggregator: configuration.id, epoch: planEpoch, inFlight: activeRequests, nowMs: Self.nowMs())
    }

    func announce() async throws {
        try await connection.publish(presence.state(.online))
    }

    func publishTelemetry() async {
        guard !saidOffline else { return }
        do {
            try await connection.publish(presence.telemetry(telemetry()))
            for stream in machine.streamTelemetry(nowMs: Self.nowMs()) {
                try await connection.publish(MQTTMessage(
                    topic: configuration.topics.streamTelemetry(configuration.id, source: stream.source), control: stream, on: configuration.topics))
            }
        } catch {
            logger.debug("telemetry not sent", metadata: ["error": "\(error)"])
        }
    }

    /// `offline`, reason `shutdown`: the last thing published before a graceful disconnect.
    func sayOffline() async {
        saidOffline = true
        do {
            try await connection.publish(presence.shutdown())
        } catch {
            logger.warning("offline state not published", metadata: ["error": "\(error)"])
        }
    }
}
