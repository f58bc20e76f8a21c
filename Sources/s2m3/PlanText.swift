import Foundation
import PlacementPlanning
import S2M3Core

/// The human-readable form of a plan (the default output of `s2m3 plan`).
struct PlanText {
    let instance: PlacementInstance
    let report: PlacementReport

    var text: String {
        var lines: [String] = []
        let optimality =
            report.provenOptimal ? "proven optimal" : report.budgetExhausted ? "not proven (budget ran out)" : "not proven"
        lines.append(
            "Plan (\(report.algorithm.rawValue), \(optimality)): weighted mean latency \(ms(report.objectiveMs)), "
                + "solved in \(ms(report.solveMs)).")
        lines.append("Steps: " + report.steps.joined(separator: "; ") + ".")
        if !report.loads.isEmpty || !report.unloads.isEmpty {
            lines.append("Moves: \(report.moves) load(s), \(report.unloads.count) unload(s).")
        }
        lines.append("\nDevices:")
        for device in instance.devices {
            guard let entry = report.devices[device.id] else { continue }
            lines.append(
                "  \(device.id): \(gigabytes(entry.memoryUsedBytes)) of \(gigabytes(entry.memoryBytes)), "
                    + "\(String(format: "%.1f", entry.utilization * 100)) % busy: \(entry.modules.joined(separator: ", "))")
        }
        lines.append("\nTasks:")
        for task in instance.tasks {
            guard let entry = report.tasks[task.id] else { continue }
            let route = task.graph.nodes.map { "\($0.id)@\(entry.route[$0.id] ?? "?")" }.joined(separator: " ")
            lines.append("  \(task.id) (\(task.rate)/s): \(ms(entry.latencyMs)): \(route)")
        }
        if !report.unusedModules.isEmpty {
            lines.append("\nUnused modules (no task invokes them, not placed): " + report.unusedModules.joined(separator: ", "))
        }
        if !instance.models.isEmpty {
            lines.append("\nMemory saved by sharing:")
            lines.append(PlacementSharingReport(instance).markdown())
        }
        return lines.joined(separator: "\n")
    }

    private func ms(_ value: Double) -> String { String(format: "%.2f ms", value) }

    private func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}
