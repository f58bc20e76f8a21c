import Catalog
import Foundation
import Inference
import LocalCluster
import Planner

/// `s2m3 bench modules --memory`: each ONNX module in a fresh `s2m3 probe-module` child per memory
/// setting of ONNX Runtime (``InferenceSessionConfiguration/memorySettings``), the settings of one
/// module measured one after the other so that they share the machine's load: resident memory
/// after loading, at the peak of runs at the largest inputs the catalog allows, after those runs,
/// and the p50 of one run on synthetic inputs.
extension BenchModulesCommand {
    func runMemorySettings() async throws {
        let modelsDirectory = modules.modelsDirectory
        let catalogPath = ClusterCatalog.catalogPath(modules.catalog)
        let loaded = try ModuleCatalog.load(path: catalogPath, modelsDirectory: modelsDirectory)
        let warmUp = CatalogCosts.runtimeWarmUpModel(modelsDirectory: modelsDirectory)
        let settings = InferenceSessionConfiguration.memorySettings.map(\.name)
        var rows: [(module: String, figures: [String: [ModuleMeasurement]])] = []
        for module in loaded.modules where module.kind == .onnx && loaded.sharedID[module.id] == module.id {
            var figures: [String: [ModuleMeasurement]] = [:]
            for _ in 0..<memoryRepeats {
                for setting in settings {
                    let measured = try await ModuleProbeChild.measurement(
                        module: module.id, catalog: catalogPath, models: modelsDirectory, runtimeWarmUp: warmUp, memorySettings: setting)
                    FileHandle.standardError.write(Data("\(module.id) \(setting): \(measured.line)\n".utf8))
                    figures[setting, default: []].append(measured)
                }
            }
            rows.append((module.id, figures))
        }
        print(Self.memoryTable(rows: rows, settings: settings, command: "s2m3 bench modules --memory --memory-repeats \(memoryRepeats)"))
    }

    static func memoryTable(rows: [(module: String, figures: [String: [ModuleMeasurement]])], settings: [String], command: String) -> String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
        func median<T: Comparable>(_ values: [T]) -> T { values.sorted()[values.count / 2] }
        var text = "Measured with `\(command)` (medians of the repeats; MiB above the process after ONNX Runtime's start-up).\n\n"
        text += "| module | setting | load MiB | peak MiB | settled MiB | p50 ms | p50 / arena |\n|---|---|---:|---:|---:|---:|---:|\n"
        var totals: [String: (peak: Int, settled: Int)] = [:]
        for row in rows {
            let base = row.figures["arena"].flatMap { runs in runs.compactMap(\.p50Ms).isEmpty ? nil : median(runs.compactMap(\.p50Ms)) }
            for setting in settings {
                guard let runs = row.figures[setting], !runs.isEmpty else { continue }
                let peak = median(runs.map(\.residentBytes)), settled = median(runs.map(\.settledBytes))
                let p50 = runs.compactMap(\.p50Ms).isEmpty ? nil : median(runs.compactMap(\.p50Ms))
                totals[setting, default: (0, 0)].peak += peak
                totals[setting, default: (0, 0)].settled += settled
                let ratio = (p50 != nil && base != nil && base! > 0) ? String(format: "%.2f", p50! / base!) : "-"
                text += "| \(row.module) | \(setting) | \(mib(median(runs.map(\.loadBytes)))) | \(mib(peak)) | \(mib(settled)) | "
                    + "\(p50.map { String(format: "%.2f", $0) } ?? "-") | \(ratio) |\n"
            }
        }
        for setting in settings { if let total = totals[setting] { text += "| all modules | \(setting) | | \(mib(total.peak)) | \(mib(total.settled)) | | |\n" } }
        return text
    }
}
