import Catalog
import Foundation
import S2M3Core

/// The Markdown tables of `s2m3 bench modules`.
enum BenchModulesText {
    static func markdown(
        catalog: ModuleCatalog, order: [String], moduleTimes: [String: [Double]], memory: [String: Int],
        taskTimes: [(String, [Double])], requests: [String: TaskRequest], command: String
    ) -> String {
        var lines = ["<!-- \(command) -->", ""]
        lines.append("| module | kind | p50 ms | min ms | resident MiB added (load + first run, in load order) |")
        lines.append("|---|---|---:|---:|---:|")
        for id in order {
            let kind = catalog.module(id).map { $0.kind == .onnx ? "onnx (\($0.driver ?? "single-run"))" : "builtin" } ?? "?"
            let times = moduleTimes[id] ?? []
            lines.append("| \(id) | \(kind) | \(format(percentile(times, 0.5))) | \(format(times.min() ?? 0)) | \(format(Double(memory[id] ?? 0) / 1_048_576, 1)) |")
        }
        lines.append("")
        lines.append("| task | input | p50 ms | p99 ms | runs |")
        lines.append("|---|---|---:|---:|---:|")
        for (task, times) in taskTimes {
            lines.append("| \(task) | \(BenchInputs.described[task] ?? "") | \(format(percentile(times, 0.5))) | \(format(percentile(times, 0.99))) | \(times.count) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    static func format(_ value: Double, _ decimals: Int? = nil) -> String {
        String(format: "%.\(decimals ?? (value < 10 ? 2 : 1))f", value)
    }
}
