import Foundation
import S2M3Core

/// A distributed result as the demo prints it: the outputs, then one timeline line per module
/// invocation with its device, and the offsets and durations the aggregator and device measured.
enum DemoText {
    static func ms(_ value: Double) -> String { String(format: "%7.1f", value) }

    static func result(_ result: TaskResult, roundTrip: Duration) -> String {
        var lines: [String] = []
        for name in result.outputs.keys.sorted() {
            switch result.outputs[name]! {
            case .labels(let labels):
                lines.append("  \(name): " + labels.prefix(5).map { "\($0.label) \(String(format: "%.3f", $0.score))" }.joined(separator: "; "))
            case .text(let text):
                lines.append("  \(name): \(text.isEmpty ? "(empty)" : "\"\(text)\"")")
            case .texts(let texts):
                lines.append("  \(name): " + (texts.isEmpty ? "(none)" : texts.map { "\"\($0)\"" }.joined(separator: ", ")))
            case .embedding(let values):
                lines.append("  \(name): embedding of \(values.count) values")
            }
        }
        lines.append("  timeline (ms, from the aggregator's receipt)   start     end  queued compute transfer  device")
        for entry in result.timeline.sorted(by: { ($0.startMs, $0.node) < ($1.startMs, $1.node) }) {
            let what = "\(entry.node) [\(entry.module)]" + (entry.attempt > 1 ? " attempt \(entry.attempt)" : "")
            lines.append("    " + what.padding(toLength: 44, withPad: " ", startingAt: 0)
                + [entry.startMs, entry.endMs, entry.queuedMs, entry.computeMs, entry.transferMs].map(ms).joined(separator: " ")
                + "  \(entry.device)")
        }
        let seconds = Double(roundTrip.components.seconds) * 1000 + Double(roundTrip.components.attoseconds) / 1e15
        lines.append("  total \(String(format: "%.1f", result.totalMs)) ms in the aggregator, \(String(format: "%.1f", seconds)) ms round trip (epoch \(result.epoch), \(result.aggregator))")
        return lines.joined(separator: "\n")
    }
}
