/// The result's JSON written by hand: it is built for every request, on its critical path
/// (docs/benchmarks.md, "Where one request's time goes"). Keys in sorted order, optionals left out
/// when nil, as the `Codable` conformance encodes them.
extension TaskResult: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("aggregator", aggregator)
        writer.member("completedAtMs", completedAtMs)
        writer.member("epoch", epoch)
        if let frame {
            writer.key("frame")
            writer.beginObject()
            writer.member("capturedMs", frame.capturedMs)
            writer.member("sequence", frame.sequence)
            writer.member("source", frame.source)
            writer.endObject()
        }
        writer.key("outputs")
        writer.beginObject()
        for name in outputs.keys.sorted() {
            writer.key(name)
            outputs[name]!.write(to: &writer)
        }
        writer.endObject()
        writer.member("requestId", requestID)
        writer.member("schema", Self.schema)
        writer.member("task", task)
        writer.key("timeline")
        writer.beginArray()
        for entry in timeline { entry.write(to: &writer) }
        writer.endArray()
        writer.member("totalMs", totalMs)
        if let utterance {
            writer.key("utterance")
            writer.beginObject()
            writer.member("capturedMs", utterance.capturedMs)
            writer.member("endMs", utterance.endMs)
            writer.member("endReason", utterance.endReason.rawValue)
            writer.member("gap", utterance.gap)
            writer.member("index", utterance.index)
            writer.member("source", utterance.source)
            writer.member("startMs", utterance.startMs)
            writer.endObject()
        }
        writer.endObject()
    }
}

extension TaskOutput {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if case .embedding(let values) = self {
            writer.key("embedding")
            writer.beginArray()
            for value in values { writer.number(value) }
            writer.endArray()
        }
        writer.member("kind", kind.rawValue)
        switch self {
        case .labels(let labels):
            writer.key("labels")
            writer.beginArray()
            for label in labels {
                writer.beginObject()
                writer.member("label", label.label)
                writer.member("score", label.score)
                writer.endObject()
            }
            writer.endArray()
        case .text(let text):
            writer.member("text", text)
        case .texts(let texts):
            writer.member("texts", texts)
        case .embedding:
            break
        }
        writer.endObject()
    }
}

extension TaskTimelineEntry {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("attempt", attempt)
        if let chainedAfter { writer.member("chainedAfter", chainedAfter) }
        writer.member("computeMs", computeMs)
        writer.member("device", device)
        writer.member("endMs", endMs)
        writer.member("module", module)
        writer.member("node", node)
        writer.member("queuedMs", queuedMs)
        if let sharedWith { writer.member("sharedWith", sharedWith) }
        writer.member("startMs", startMs)
        writer.member("transferMs", transferMs)
        writer.endObject()
    }
}
