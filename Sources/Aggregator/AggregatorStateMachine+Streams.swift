import S2M3Core

/// Camera streams (docs/streams.md): subscriptions, source states and frames in; invocations,
/// per-task results and errors out, through the same ``ReplicaChooser`` as requests.
extension AggregatorStateMachine {
    /// A retained message on `streams/{name}` (an empty payload clears the subscription).
    public mutating func receiveSubscription(_ name: String, payload: [UInt8], nowMs: Double) -> [AggregatorAction] {
        guard !payload.isEmpty else { return streamActions(streams.subscription(name, nil, nowMs: nowMs)) }
        do {
            let subscription = try StreamSubscription(json: payload)
            return streamActions(streams.subscription(name, subscription, nowMs: nowMs))
        } catch {
            // The old subscription of that name ends: what was published no longer stands.
            let ended = streams.subscription(name, nil, nowMs: nowMs)
            let message = TaskErrorMessage(
                requestID: nil, task: "-", code: .malformedRequest,
                reason: "stream subscription '\(name)' cannot be read: \(error.description)", field: error.field, timestampMs: Int(nowMs))
            return streamActions(ended) + [.error(message.publishable(), ReplyAddress(), publishOnTaskTopic: true)]
        }
    }

    /// A message on `sources/{source}/frames`: the frame's properties are read here; a frame that
    /// cannot be read is counted as a bad frame of its source.
    public mutating func receiveFrame(source: String, payload: [UInt8], properties: MessageProperties, nowMs: Double) -> [AggregatorAction] {
        do {
            let frame = try StreamFrame(source: source, properties: properties, payloadBytes: payload.count, receivedMs: Int(nowMs))
            return streamActions(streams.frame(frame, image: payload, router: &router, nowMs: nowMs))
        } catch {
            streams.badFrame(source: source)
            return []
        }
    }

    /// A message on `sources/{source}/audio`: the chunk's properties and size are read here; a
    /// chunk that cannot be read is counted as a bad frame of its source and answered with a
    /// `bad-input` error naming what was wrong.
    public mutating func receiveAudio(source: String, payload: [UInt8], properties: MessageProperties, nowMs: Double) -> [AggregatorAction] {
        do {
            let chunk = try AudioChunk(source: source, properties: properties, payloadBytes: payload.count, receivedMs: Int(nowMs))
            return streamActions(streams.audio(chunk, payload: payload, router: &router, nowMs: nowMs))
        } catch {
            guard let session = streams.sessions[source], !session.plans.isEmpty else { return [] }
            streams.badFrame(source: source)
            let task = session.plans.keys.sorted().first ?? "-"
            let message = TaskErrorMessage(
                requestID: nil, task: task, code: .badInput,
                reason: "audio chunk of '\(source)' refused: \(error.description)", field: error.field, timestampMs: Int(nowMs))
            return [.error(message.publishable(), ReplyAddress(), publishOnTaskTopic: true)]
        }
    }

    /// A source's state: `offline` (its last will, or a shutdown) ends its stream; `online` after
    /// that starts it over.
    @discardableResult
    public mutating func receiveSourceState(_ state: ServiceState, nowMs: Double = WallClock.exactMilliseconds) -> [AggregatorAction] {
        guard state.role == .source else { return [] }
        guard state.status == .offline else {
            streams.sourceOnline(state.id)
            return []
        }
        return streamActions(streams.sourceOffline(state.id, router: &router, nowMs: nowMs))
    }

    /// The telemetry of every stream served.
    public func streamTelemetry(nowMs: Double) -> [StreamTelemetry] { streams.telemetry(nowMs: nowMs) }

    /// Sources with a stream (subscribed, or with a frame in flight).
    public var streamSources: [String] { streams.sessions.keys.sorted() }

    func streamActions(_ outputs: [StreamSession.Output]) -> [AggregatorAction] {
        outputs.map { output in
            switch output {
            case .invoke(let invocation): .invoke(invocation)
            case .result(let result): .streamResult(result)
            case .error(let message): .error(message, ReplyAddress(), publishOnTaskTopic: true)
            }
        }
    }
}
