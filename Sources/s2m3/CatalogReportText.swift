import Catalog
import Foundation

/// Text and JSON renderings of `s2m3 catalog`.
enum CatalogReportText {
    static func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    static func tables(catalog: ModuleCatalog, memory: [String: Int], report: SharingReport, runtimeBytes: Int?) -> String {
        let runtime = runtimeBytes.map {
            "ONNX Runtime start-up per process (a tiny model, fresh process): \(mib($0)) MiB, not counted below."
        } ?? "ONNX Runtime start-up is included in each module (no onnxruntime-datasets/mul_1.onnx in the cache)."
        var lines = [
            runtime, "",
            "Modules (peak resident memory loaded and run at the largest inputs the catalog allows, each measured in a fresh process; built-ins count 0):", "",
            "| module | kind | MiB | same module as | digest |", "|---|---|---:|---|---|",
        ]
        for module in catalog.modules {
            let shared = catalog.sharedID[module.id] ?? module.id
            lines.append(
                "| \(module.id) | \(module.kind.rawValue) | \(mib(memory[shared] ?? 0)) | \(shared == module.id ? "" : shared) | \(module.digest.prefix(12)) |")
        }
        lines += [
            "", "Tasks (without sharing: one copy per invocation; with sharing: one per module):", "",
            "| task | without sharing MiB | with sharing MiB | saving | modules shared with other tasks |",
            "|---|---:|---:|---:|---|",
        ]
        for row in report.tasks {
            let shares = row.sharedWith.keys.sorted().map { id in
                let times = row.invocations[id, default: 1] > 1 ? " x\(row.invocations[id]!)" : ""
                return "\(id)\(times) (\(row.sharedWith[id]!.joined(separator: ", ")))"
            }
            lines.append(
                "| \(row.task) | \(mib(row.unsharedBytes)) | \(mib(row.sharedBytes)) | \(String(format: "%.1f", row.savingPercent)) % | \(shares.joined(separator: "; ")) |")
        }
        lines.append(
            "| all tasks | \(mib(report.unsharedBytes)) | \(mib(report.sharedBytes)) | \(String(format: "%.1f", report.savingPercent)) % | |")
        return lines.joined(separator: "\n")
    }

    static func json(catalog: ModuleCatalog, memory: [String: Int], report: SharingReport, runtimeBytes: Int?) throws -> String {
        struct Module: Encodable {
            let id, kind, digest, interface: String
            let sharedAs: String
            let residentBytes: Int
        }
        struct Output: Encodable {
            let modules: [Module]
            let sharing: SharingReport
            let runtimeStartUpBytes: Int?
        }
        let modules = catalog.modules.map { module in
            let shared = catalog.sharedID[module.id] ?? module.id
            return Module(
                id: module.id, kind: module.kind.rawValue, digest: module.digest, interface: module.interface,
                sharedAs: shared, residentBytes: memory[shared] ?? 0)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(Output(modules: modules, sharing: report, runtimeStartUpBytes: runtimeBytes)), as: UTF8.self)
    }
}
