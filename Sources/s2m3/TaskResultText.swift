import Foundation
import S2M3Core

/// A task result for people, as `s2m3 run` and `s2m3 request` print it: the outputs in the task's
/// order, then one timeline row per invocation, then the total.
enum TaskResultText {
    /// The timeline's columns.
    enum Timeline {
        /// One process, no bus: start, end and compute time.
        case local
        /// The cluster: device and attempt, then start, end, queue, compute and transfer time.
        case distributed
    }

    /// `labelLimit`: at most this many labels of a label output (nil: all).
    static func text(_ result: TaskResult, outputOrder: [String], timeline: Timeline, labelLimit: Int? = nil) -> String {
        var lines = outputs(result, outputOrder: outputOrder, labelLimit: labelLimit)
        lines.append("")
        switch timeline {
        case .local:
            lines.append("timeline (ms)        start      end  compute")
            for entry in result.timeline {
                let node = entry.node.padding(toLength: 18, withPad: " ", startingAt: 0)
                lines.append("  \(node) " + [entry.startMs, entry.endMs, entry.computeMs].map { pad(format($0, 1), 8) }.joined(separator: " ") + "  \(entry.module)")
            }
            lines.append("total \(format(result.totalMs, 1)) ms")
        case .distributed:
            lines.append("timeline (ms)         device         try    start      end   queued  compute transfer")
            for entry in result.timeline {
                let node = entry.node.padding(toLength: 20, withPad: " ", startingAt: 0)
                let device = entry.device.padding(toLength: 14, withPad: " ", startingAt: 0)
                let numbers = [entry.startMs, entry.endMs, entry.queuedMs, entry.computeMs, entry.transferMs]
                    .map { pad(format($0, 1), 8) }.joined(separator: " ")
                lines.append("  \(node) \(device) \(pad(String(entry.attempt), 3)) \(numbers)  \(entry.module)")
            }
            lines.append("total \(format(result.totalMs, 1)) ms, plan epoch \(result.epoch), aggregator \(result.aggregator)")
        }
        return lines.joined(separator: "\n")
    }

    /// The outputs named in `outputOrder` first, then any others by name.
    static func outputs(_ result: TaskResult, outputOrder: [String], labelLimit: Int?) -> [String] {
        var lines: [String] = []
        let names = outputOrder.filter { result.outputs[$0] != nil } + result.outputs.keys.sorted().filter { !outputOrder.contains($0) }
        for name in names {
            switch result.outputs[name]! {
            case .labels(let labels):
                lines.append("\(name):")
                for label in labels.prefix(labelLimit ?? labels.count) { lines.append("  " + format(label.score, 3) + "  " + label.label) }
            case .text(let text): lines.append("\(name): \(text.isEmpty ? "(empty)" : "\"\(text)\"")")
            case .texts(let texts):
                lines.append("\(name):\(texts.isEmpty ? " (none)" : "")")
                for text in texts { lines.append("  \(text)") }
            case .embedding(let values):
                lines.append("\(name): \(values.count) values [\(values.prefix(4).map { format(Double($0), 4) }.joined(separator: ", "))…]")
            }
        }
        return lines
    }

    static func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
