import ArgumentParser
import Catalog
import Foundation
import LocalCluster
import Planner
import S2M3Core

/// The text `s2m3 up` prints from its ``RunningCluster``'s typed values: device budgets, where each
/// module went, the memory saved by sharing, and how to send a request.
enum ClusterReport {
    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    static func catalogLine(_ cluster: ClusterCatalog) -> String {
        let (total, largest) = cluster.placement.moduleMemory
        let largestID = cluster.placement.instance.modules.max { $0.memoryBytes < $1.memoryBytes }?.id ?? "-"
        let onnx = cluster.placement.instance.modules.filter { $0.memoryBytes > 0 }.count
        return "catalog: \(cluster.catalogPath), \(cluster.placement.instance.modules.count) distinct modules (\(onnx) with weights), "
            + "\(cluster.catalog.tasks.count) tasks; module memory \(mib(total)) in all, largest \(largestID) \(mib(largest))"
            + (cluster.measured.isEmpty ? " (cached figures)" : " (measured \(cluster.measured.count) modules now, cached in \(ModuleCostCache.path(inModels: cluster.modelsDirectory)))")
    }

    static func placement(plan: PlanMessage, cluster: ClusterCatalog, budget: Int) -> String {
        let memory = Dictionary(cluster.placement.instance.modules.map { ($0.id, $0.memoryBytes) }, uniquingKeysWith: { a, _ in a })
        var lines = ["placement (plan epoch \(plan.epoch), \(plan.algorithm), objective \(String(format: "%.1f", plan.objectiveMs)) ms"
            + (plan.provenOptimal ? ", proven optimal" : "") + "):"]
        for device in plan.devices {
            let hosted = plan.placement.filter { $0.value.contains(device) }.keys.sorted()
            let used = hosted.reduce(0) { $0 + (memory[$1] ?? 0) }
            let weighted = hosted.filter { (memory[$0] ?? 0) > 0 }
            let builtins = hosted.count - weighted.count
            let what = weighted.joined(separator: ", ")
                + (builtins > 0 ? (weighted.isEmpty ? "" : " + ") + "\(builtins) built-ins" : "")
            lines.append("  \(device): \(mib(used)) of \(mib(budget)): " + (what.isEmpty ? "nothing" : what))
        }
        for task in cluster.catalog.tasks {
            if let reason = plan.unavailableTasks?[task.id] {
                lines.append("  \(task.id): unavailable (\(reason))")
            } else if let latency = plan.predictedLatencyMs[task.id] {
                let devices = Set((plan.routes[task.id] ?? [:]).values.compactMap(\.first)).sorted()
                lines.append("  \(task.id): on \(devices.joined(separator: ", ")), predicted \(String(format: "%.1f", latency)) ms")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func sharing(_ report: SharingReport) -> String {
        var lines = ["memory saved by sharing: \(mib(report.unsharedBytes)) without sharing (a model per task), "
            + "\(mib(report.sharedBytes)) with, \(String(format: "%.1f", report.savingPercent)) % saved"]
        for row in report.tasks {
            lines.append("  \(row.task): \(mib(row.unsharedBytes)) → \(mib(row.sharedBytes)) (\(String(format: "%.1f", row.savingPercent)) %), shares "
                + (row.sharedWith.isEmpty ? "nothing" : row.sharedWith.keys.sorted().joined(separator: ", ")))
        }
        return lines.joined(separator: "\n")
    }

    /// The commands that reach the cluster: `s2m3` ones find it through cluster.env; the
    /// mosquitto clients get the address (and with `--secure` the CA and the client login).
    static func howToRequest(access: UpBrokerAccess, root: String) -> String {
        let file = access.clusterFile(root: root)
        var mosquitto = "-V mqttv5 -h \(access.endpoint.host) -p \(access.endpoint.port)"
        if let ca = file.tlsCA { mosquitto += " --cafile \(ca)" }
        if let user = file.username { mosquitto += " -u \(user)" }
        if let password = file.passwordFile { mosquitto += " -P \"$(cat \(password))\"" }
        let topics = Topics(root: root)
        var lines = [
            "send a request (from another terminal; the s2m3 commands find this cluster in \(ClusterEnvironmentFile.path)):",
            "  s2m3 request classify-image --image photo.jpg",
            "  s2m3 demo",
        ]
        let request = "-q 1 -t '\(topics.requests("classify-image"))' -f photo.jpg -D publish content-type image/jpeg"
        if let user = file.username {
            // With a login: one connection (the broker makes the user name the client id, so a
            // mosquitto_sub and a mosquitto_pub of one identity would replace each other) and the
            // identity's own reply topic, the only answers it may read. mosquitto_rr 2.0.11 sends
            // only -m, so the photo goes base64 in a JSON request (up to ~90 KB: argument limit).
            let json = #"{\"schema\":\"s2m3.task-request/1\",\"requestId\":\"req-1\",\"inputs\":{\"image\":{\"contentType\":\"image/jpeg\",\"data\":\"$(base64 -w0 photo.jpg)\"}}}"#
            lines.append(
                "  mosquitto_rr \(mosquitto) -q 1 -t '\(topics.requests("classify-image"))' -e '\(topics.clientReplies(user))' -W 30"
                    + " -D publish content-type application/json -m \"\(json)\"")
        } else {
            lines.append("  mosquitto_sub \(mosquitto) -t '\(root)/results/+' -t '\(root)/errors/+' -C 1 &")
            lines.append("  mosquitto_pub \(mosquitto) \(request)")
        }
        return lines.joined(separator: "\n")
    }
}

/// A memory size as given on the command line: bytes, or a number with B, KB, MB, GB (10³) or
/// KiB, MiB, GiB (2¹⁰).
struct MemoryBudgetArgument: ExpressibleByArgument, Sendable {
    let bytes: Int

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kb": scale = 1e3
        case "m", "mb": scale = 1e6
        case "g", "gb": scale = 1e9
        case "kib": scale = 1024
        case "mib": scale = 1_048_576
        case "gib": scale = 1_073_741_824
        default: return nil
        }
        guard let value = Double(digits), value > 0 else { return nil }
        bytes = Int((value * scale).rounded())
    }
}
