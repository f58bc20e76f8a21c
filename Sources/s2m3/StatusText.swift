import Foundation
import S2M3Core

/// The terminal view of `s2m3 status`: a ``ClusterSnapshot`` as plain text, one section per part
/// of the cluster (README, "s2m3 status", says what each column means).
enum StatusText {
    static func render(_ snapshot: ClusterSnapshot, broker: String, root: String) -> String {
        var lines = ["s2m3 status: broker \(broker), root \(root), \(clock(snapshot.takenAtMs))"]
        if let plan = snapshot.plan {
            var line = "plan: epoch \(plan.epoch), \(plan.algorithm), made \(clock(plan.createdAtMs)), \(plan.devices.count) device(s)"
            if !plan.unavailableTasks.isEmpty {
                line += "; unavailable: " + plan.unavailableTasks.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            }
            lines.append(line)
        } else {
            lines.append("plan: none published yet")
        }
        lines.append("")
        lines.append("planners")
        if snapshot.planners.isEmpty { lines.append("  (none seen)") }
        for planner in snapshot.planners {
            var cells = [planner.id, presence(planner.status, planner.reason, telemetryAgeMs: planner.telemetryAgeMs)]
            if planner.status == .online, planner.telemetryAgeMs != nil {
                cells.append("epoch \(planner.epoch.map(String.init) ?? "-")")
                cells.append("live devices \(planner.liveDevices?.count ?? 0)")
                cells.append("re-plans \(planner.replans ?? 0)")
                cells.append("last solve \(planner.lastSolveMs.map { ms($0) } ?? "-")")
            }
            lines.append("  " + cells.joined(separator: "  "))
        }
        lines.append("")
        lines.append("devices")
        lines += table(
            ["ID", "STATE", "MEMORY (resident / peak / budget)", "QUEUE", "MODULES (p50)"],
            snapshot.devices.map { device in
                let online = device.status == .online
                let memory = [device.residentMemoryBytes, device.peakResidentMemoryBytes, device.memoryBudgetBytes]
                    .map { $0.map(mib) ?? "-" }.joined(separator: " / ")
                let queue = online ? "\(device.queueDepth.map(String.init) ?? "-")/\(device.queueCapacity.map(String.init) ?? "-")" : "-"
                let hosted = (device.loadedModules ?? device.assignedModules).map { module in
                    device.modules?[module].map { "\(module) \(ms($0.p50Ms))" } ?? module
                }
                var modules = hosted.isEmpty ? "-" : hosted.joined(separator: ", ")
                if let assignment = device.assignment, assignment.status != .applied {
                    modules += " [\(assignment.status.rawValue) epoch \(assignment.epoch)\(assignment.reason.map { ": \($0)" } ?? "")]"
                }
                return [device.id, presence(device.status, device.reason, telemetryAgeMs: device.telemetryAgeMs), online ? memory : "-", queue, online ? modules : "-"]
            })
        lines.append("")
        lines.append("modules")
        lines += table(
            ["MODULE", "REPLICAS (p50)"],
            snapshot.modules.map { module in
                [module.module, module.devices.map { device in module.p50Ms[device].map { "\(device) \(ms($0))" } ?? device }.joined(separator: ", ")]
            })
        lines.append("")
        lines.append("aggregators")
        lines += table(
            ["ID", "STATE", "EPOCH", "IN FLIGHT", "REQ/S", "RECENT (requests, results, errors)"],
            snapshot.aggregators.map { aggregator in
                guard aggregator.status == .online, aggregator.telemetryAgeMs != nil else {
                    return [aggregator.id, presence(aggregator.status, aggregator.reason), "-", "-", "-", "-"]
                }
                let errors = (aggregator.errors ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                let window = (aggregator.windowMs ?? 0) / 1000
                let recent = "last \(window) s: \(aggregator.requests ?? 0), \(aggregator.results ?? 0), \(errors.isEmpty ? "0" : errors)"
                return [
                    aggregator.id, presence(aggregator.status, aggregator.reason, telemetryAgeMs: aggregator.telemetryAgeMs), aggregator.epoch.map(String.init) ?? "-",
                    aggregator.inFlight.map(String.init) ?? "-", aggregator.requestsPerSecond.map { String(format: "%.1f", $0) } ?? "-", recent,
                ]
            })
        lines.append("")
        lines.append("tasks")
        lines += table(
            ["TASK", "PREDICTED", "MEASURED p50 (results)", "MEASURED / PREDICTED"],
            snapshot.tasks.map { task in
                var ratio: String?
                if let measured = task.measuredP50Ms, let predicted = task.predictedMs, predicted > 0 {
                    ratio = String(format: "%.2f×", measured / predicted)
                }
                return [
                    task.task, task.predictedMs.map { ms($0) } ?? "-",
                    task.measuredP50Ms.map { "\(ms($0)) (\(task.measuredCount ?? 0))" } ?? "-", ratio ?? "-",
                ]
            })
        lines.append("")
        let counts = snapshot.errors.byCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines.append("errors seen on errors/+ since start: " + (counts.isEmpty ? "none" : counts.joined(separator: ", ")))
        for error in snapshot.errors.recent.suffix(5) {
            lines.append("  \(clock(error.timestampMs)) \(error.task) \(error.code) \(error.requestId ?? "-"): \(error.reason.prefix(100))")
        }
        if snapshot.ignoredMessages > 0 { lines.append("ignored \(snapshot.ignoredMessages) unreadable message(s)") }
        return lines.joined(separator: "\n")
    }

    /// Rows under a header, columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        guard !rows.isEmpty else { return ["  (none seen)"] }
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            "  " + row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    /// Telemetry older than this marks an online service `silent` (it may have lost its network
    /// without the broker noticing yet: about 1.5 × keepalive).
    static let silentAfterMs = 5_000

    static func presence(_ status: ClusterSnapshot.Presence, _ reason: String?, telemetryAgeMs: Int? = nil) -> String {
        if status == .online, let age = telemetryAgeMs, age > silentAfterMs {
            return "online (silent \(age / 1000) s)"
        }
        return reason.map { "\(status.rawValue) (\($0))" } ?? status.rawValue
    }

    static func mib(_ bytes: Int) -> String { "\(bytes / (1 << 20)) MiB" }

    static func ms(_ value: Double) -> String { value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value) }

    /// A moment as UTC time of day.
    static func clock(_ ms: Int) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + " UTC"
    }
}
