import Foundation
import LocalCluster
import S2M3Core

/// Everything `s2m3 bench cluster` measured.
struct BenchClusterReport {
    enum Mode: String, CaseIterable, Sendable {
        case parallel = "distributed, parallel"
        case sequential = "distributed, sequential"
        case unchained = "distributed, parallel, no chains"
        case inProcess = "monolithic, in process"
        case serve = "monolithic, serve on loopback"
        case cloud = "cloud (serve behind WAN)"
    }

    struct Throughput {
        var mix: String
        var devices: Int?
        var budget: Int?
        var replicas: Int?
        var completed: Int
        var failed: Int
        var seconds: Double
        var latencies: [Double]
        /// CPU time of the run's processes (and the machine) over the counted part.
        var cpu: ProcessCPU.Usage
        var perSecond: Double { seconds > 0 ? Double(completed) / seconds : 0 }
    }

    let command: String
    let tasks: [String]
    let started: Date
    let loadBefore: String
    var loadAfter = ""
    var finished = Date()
    var machine = ""
    /// The set-up cache the run used (`${S2M3_CACHE:-.cache}`), named in the table's header.
    var cache = ".cache"
    /// The file the run writes its section to (`--write`), named in the header; nil: printed only.
    var written: String?
    var wan: (delayMs: Double, rateMbit: Double) = (20, 20)
    /// Mode → task → client round trips, ms.
    var latency: [Mode: [String: [Double]]] = [:]
    /// Task → `transferMs` of every invocation of the parallel runs.
    var transfer: [String: [Double]] = [:]
    /// The result's `totalMs` (the service's own time, receipt to answer) of each timed request, by mode and task.
    var serviceMs: [Mode: [String: [Double]]] = [:]
    /// Task → invocations on its longest dependency chain.
    var criticalPath: [String: Int] = [:]
    var failures: [Mode: Int] = [:]
    /// The parallel cluster's plan when it was ready, and the one retained after its latency
    /// rounds (re-planned with the costs the planner learned from telemetry meanwhile).
    /// Mode → task → the first request's round trip (the first warm-up request, right after the
    /// cluster or server was ready).
    var firstRequest: [Mode: [String: Double]] = [:]
    var firstPlan: PlanMessage?
    var learnedPlan: PlanMessage?
    var failureSamples: [String] = []
    var latencyCluster: (devices: Int, budget: Int, replicas: Int) = (0, 0, 0)
    /// Per device count and mix; rows without `devices` are `s2m3 serve`.
    var throughput: [Throughput] = []
    var concurrency = 0
    var deviceThreads = 1
    var throughputSeconds = 0.0
    var throughputSettle = 0.0

    func p(_ mode: Mode, _ task: String, _ quantile: Double) -> Double? {
        BenchClusterText.percentile(latency[mode]?[task] ?? [], quantile)
    }
}

/// The Markdown of `s2m3 bench cluster`, and writing it into docs/benchmarks.md.
enum BenchClusterText {
    static let heading = "## Distributed execution (issue 5)"

    static func markdown(_ r: BenchClusterReport) -> String {
        let date = ISO8601DateFormatter.string(from: r.started, timeZone: .gmt, formatOptions: [.withFullDate])
        let minutes = r.finished.timeIntervalSince(r.started) / 60
        var lines = [heading, "", "<!-- \(r.command) -->", ""]
        let samples = r.latency[.parallel]?.values.first?.count ?? 0
        let run = "\(r.cache == ".cache" ? "" : "S2M3_CACHE=\(r.cache) ").build/release/\(r.command)\(r.written.map { " --write \($0)" } ?? "")"
        lines.append("Made with `\(run)` (release build; `scripts/bench-cluster.sh` builds it and runs it with `--write docs/benchmarks.md`) on \(date): \(r.machine), load average \(r.loadBefore) before and \(r.loadAfter) after, \(format(minutes, 1)) minutes in all. Each mode got \(samples) timed requests per task after the warm-up, one at a time, with the fixtures of `s2m3 bench modules`; latency is the client's round trip (request built, sent, result decoded). The p99 of \(samples) samples (nearest rank) is about the slowest one: read it as \"the tail\"; the p50 is the figure to compare.")
        lines.append("")
        lines.append("Modes: *distributed, parallel*: \(r.latencyCluster.devices) device agents (\(mib(r.latencyCluster.budget)) and \(r.deviceThreads) inference thread\(r.deviceThreads == 1 ? "" : "s") each, so no device holds every module; the plan placed \(r.latencyCluster.replicas) module replicas), a planner and an aggregator, each its own process, on one Mosquitto; "
            + "*sequential*: the same devices and plan behind an aggregator started with `--sequential` (one node of a request at a time); "
            + "*no chains*: the same devices and plan behind an aggregator started with `--no-chains` (every node its own invocation, as before co-located chains); "
            + "*in process*: `TaskRunner` in the benchmark's own process (2 inference threads, no broker); "
            + "*serve on loopback*: `s2m3 serve` (the same runner as a service, 2 threads) on its own Mosquitto, the client on loopback; "
            + "*cloud*: that same server, the client reaching its broker through `scripts/bench/wan-relay.py` with \(format(r.wan.delayMs, 0)) ms each way (\(format(2 * r.wan.delayMs, 0)) ms round trip) and \(format(r.wan.rateMbit, 0)) Mbit/s each way. "
            + "The relay shapes the rate itself (a serialisation queue per direction), rather than `tc tbf` as MQTT.md suggests, so it needs no root and no `sch_tbf`; the server and its broker sit on the same box, as a cloud server next to its broker would. "
            + "Parallel, in-process, serve and cloud were measured interleaved, request by request; sequential, then no chains, right after on the same devices.")
        lines.append("")
        lines.append("| task | parallel p50 / p99 ms | no chains p50 / p99 ms | sequential p50 / p99 ms | in process p50 / p99 ms | serve p50 / p99 ms | cloud p50 / p99 ms |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for task in r.tasks {
            let cells = [BenchClusterReport.Mode.parallel, .unchained, .sequential, .inProcess, .serve, .cloud].map { mode in
                guard let p50 = r.p(mode, task, 0.5), let p99 = r.p(mode, task, 0.99) else { return "–" }
                return "\(format(p50, 1)) / \(format(p99, 1))"
            }
            lines.append("| \(task) | " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("Ratios of the p50s, and the bus's cost. *Parallel vs cloud*: how much lower the parallel cluster's latency is than cloud's (the paper: up to 56.9 % lower). *Overhead per hop*: (parallel p50 − in-process p50) ÷ the invocations on the task's longest dependency chain (each a round trip aggregator → device → aggregator over the broker, plus the client's own round trip spread over them). *transferMs*: per invocation of the parallel runs, the timeline's end − start − queue − compute (topics.md: the time on the bus both ways, (de)serialisation included), median over all of a task's invocations.")
        lines.append("")
        lines.append("| task | invocations on the critical path | parallel vs cloud | parallel / no chains | parallel / sequential | parallel / in process | no chains / in process | parallel / serve | overhead per hop ms | median transferMs |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for task in r.tasks {
            let par = r.p(.parallel, task, 0.5)
            func ratio(_ mode: BenchClusterReport.Mode) -> String {
                guard let par, let other = r.p(mode, task, 0.5), other > 0 else { return "–" }
                return format(par / other, 2) + "×"
            }
            let lower = par.flatMap { par in r.p(.cloud, task, 0.5).map { format((1 - par / $0) * 100, 1) + " %" } } ?? "–"
            let hops = r.criticalPath[task] ?? 0
            let overhead = (par.flatMap { par in r.p(.inProcess, task, 0.5).map { par - $0 } }).map { hops > 0 ? format($0 / Double(hops), 2) : "–" } ?? "–"
            let transfer = percentile(r.transfer[task] ?? [], 0.5).map { format($0, 2) } ?? "–"
            let unchained = r.p(.unchained, task, 0.5).flatMap { a in r.p(.inProcess, task, 0.5).map { format(a / $0, 2) + "×" } } ?? "–"
            lines.append("| \(task) | \(hops) | \(lower) | \(ratio(.unchained)) | \(ratio(.sequential)) | \(ratio(.inProcess)) | \(unchained) | \(ratio(.serve)) | \(overhead) | \(transfer) |")
        }
        lines.append("")
        lines.append(overheadText(r))
        lines.append("")
        lines.append(predictionText(r))
        lines.append("")
        let failed = BenchClusterReport.Mode.allCases.compactMap { mode in r.failures[mode].map { "\(mode.rawValue) \($0)" } }
        lines.append("Failed requests: " + (failed.isEmpty ? "none." : failed.joined(separator: ", ") + " (e.g. " + r.failureSamples.joined(separator: "; ") + ")."))
        lines.append("")
        lines.append(throughputText(r))
        lines.append(endMarker)
        return lines.joined(separator: "\n")
    }

    /// Where the parallel cluster's time over the in-process runner goes: the service's own time
    /// (the result's `totalMs`, from the aggregator receiving the request to publishing the
    /// result) against the client's round trip, beside `serve`'s split.
    static func overheadText(_ r: BenchClusterReport) -> String {
        var lines = ["**Where the overhead goes**: *service p50* is the p50 of the results' own `totalMs` (the aggregator, or `serve`, from receiving the request to publishing its result); *client's part* is the client p50 − service p50 (the request and the result crossing the broker, encoding and decoding); *inside the cluster* is the aggregator's service p50 − the in-process p50 (dispatch, invocations and answers over the bus, device queues)."]
        lines.append("")
        lines.append("| task | in process p50 ms | parallel: service p50 ms | parallel: client's part ms | parallel: inside the cluster ms | serve: service p50 ms | serve: client's part ms |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for task in r.tasks {
            let local = r.p(.inProcess, task, 0.5)
            func service(_ mode: BenchClusterReport.Mode) -> Double? { percentile(r.serviceMs[mode]?[task] ?? [], 0.5) }
            func cell(_ value: Double?) -> String { value.map { format($0, 1) } ?? "–" }
            let parallel = service(.parallel), serve = service(.serve)
            let clientPart = parallel.flatMap { s in r.p(.parallel, task, 0.5).map { $0 - s } }
            let inside = parallel.flatMap { s in local.map { s - $0 } }
            let serveClient = serve.flatMap { s in r.p(.serve, task, 0.5).map { $0 - s } }
            lines.append("| \(task) | \(cell(local)) | \(cell(parallel)) | \(cell(clientPart)) | \(cell(inside)) | \(cell(serve)) | \(cell(serveClient)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The planner's predicted task latencies (first plan, and after learning from telemetry)
    /// beside the parallel cluster's measured p50.
    static func predictionText(_ r: BenchClusterReport) -> String {
        let first = r.firstPlan, learned = r.learnedPlan
        var lines = ["**Predictions**: the planner's predicted latency per task in the parallel cluster's first plan (epoch \(first.map { String($0.epoch) } ?? "–"), from the catalog's figures) and in the plan retained after the latency rounds (epoch \(learned.map { String($0.epoch) } ?? "–"), re-planned with the module times and transfers learned from telemetry; docs/placement.md, \"Learning from telemetry\"), beside the measured parallel p50 (the client's round trip). The goal: learned within 25 % of measured. *First request*: the round trip of the task's first request to the parallel cluster once it was ready (devices warm each module up after loading it; the goal: within 1.5× of the p50)."]
        lines.append("")
        lines.append("| task | predicted, first plan ms | predicted, learned ms | measured p50 ms | measured / first | measured / learned | first request ms | first request / p50 |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for task in r.tasks {
            let measured = r.p(.parallel, task, 0.5)
            let a = first?.predictedLatencyMs[task], b = learned?.predictedLatencyMs[task]
            func ratio(_ predicted: Double?) -> String {
                guard let measured, let predicted, predicted > 0 else { return "–" }
                return format(measured / predicted, 2) + "×"
            }
            let firstRequest = r.firstRequest[.parallel]?[task]
            let slower = firstRequest.flatMap { first in measured.map { format(first / $0, 2) + "×" } } ?? "–"
            lines.append("| \(task) | \(a.map { format($0, 1) } ?? "–") | \(b.map { format($0, 1) } ?? "–") | \(measured.map { format($0, 1) } ?? "–") | \(ratio(a)) | \(ratio(b)) | \(firstRequest.map { format($0, 1) } ?? "–") | \(slower) |")
        }
        return lines.joined(separator: "\n")
    }

    static func throughputText(_ r: BenchClusterReport) -> String {
        var lines: [String] = []
        lines.append("**Throughput**: each mix's tasks in turn, \(r.concurrency) requests in flight at once from one client, sent for \(format(r.throughputSeconds, 0)) s after one warm-up per task\(r.throughputSettle > 0 ? " and \(format(r.throughputSettle, 0)) s of the same load not counted (time for the planner to re-plan for the measured load)" : ""); a fresh local cluster per device count (planner, aggregator, N devices), each device's budget large enough to hold every module, so one device holds all of them and the planner may replicate. Requests/s = answers ÷ wall time from the first counted send to the last answer. The *serve* rows are the same loads on `s2m3 serve` (one process, 2 inference threads, loopback broker).")
        lines.append("")
        lines.append("| mix | devices | budget each | module replicas | inference threads in all | answered | failed | seconds | requests/s | p50 ms under load | vs 1 device |")
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        let mixes = r.throughput.map(\.mix).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for mix in mixes {
            let rows = r.throughput.filter { $0.mix == mix }
            let base = rows.first { $0.devices == 1 }?.perSecond
            for row in rows {
                let relative = base.map { format(row.perSecond / $0, 2) + "×" } ?? "–"
                lines.append("| \(mix) | \(row.devices.map(String.init) ?? "serve") | \(row.budget.map(mib) ?? "–") | \(row.replicas.map(String.init) ?? "–") | "
                    + "\(row.devices.map { String($0 * r.deviceThreads) } ?? "2") | \(row.completed) | \(row.failed) | \(format(row.seconds, 1)) | \(format(row.perSecond, 1)) | "
                    + "\(percentile(row.latencies, 0.5).map { format($0, 1) } ?? "–") | \(relative) |")
            }
        }
        lines.append("")
        lines.append(coresText(r))
        lines.append("")
        lines.append("This machine has \(ProcessInfo.processInfo.activeProcessorCount) cores shared by every process of the run (and other jobs, see the load average): N device agents on one box share the same cores, so adding agents adds queues and processes but no compute. Three agents on three boxes would scale; three on this box cannot, and the figures above measure the cost and benefit of spreading work over processes, not the capacity of more hardware.")
        return lines.joined(separator: "\n")
    }

    /// CPU time per answered request of each run, by process: what the cluster pays beyond the
    /// inference itself when the cores are the limit.
    static func coresText(_ r: BenchClusterReport) -> String {
        var lines = [
            "**Where the cores went** in the same counted runs: CPU time per answered request, by process (user + system time from `/proc/PID/stat`, read at the end of the settling and after the last answer). *inference* is the device agents or `s2m3 serve`; *client* is this benchmark's own process; *other* is the rest of the machine's busy time (`/proc/stat`: other jobs, the kernel's threads). *cores busy* = the machine's busy time ÷ wall time.",
            "",
            "| mix | devices | requests/s | inference ms | aggregator ms | broker ms | planner ms | client ms | other ms | all ms | cores busy |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in r.throughput {
            let answered = Double(max(1, row.completed))
            func ms(_ role: String) -> String { row.cpu.byRole[role].map { format($0 * 1000 / answered, 2) } ?? "–" }
            lines.append("| \(row.mix) | \(row.devices.map(String.init) ?? "serve") | \(format(row.perSecond, 1)) | \(ms("inference")) | \(ms("aggregator")) | "
                + "\(ms("broker")) | \(ms("planner")) | \(ms("client")) | \(format(row.cpu.unaccounted * 1000 / answered, 2)) | "
                + "\(format(row.cpu.machineBusy * 1000 / answered, 2)) | \(format(row.cpu.coresBusy, 2)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Ends the generated part of the section; text after it (notes on the run) is kept.
    static let endMarker = "<!-- end of s2m3 bench cluster output -->"

    /// Replaces the section from ``heading`` to ``endMarker`` (else to the next `## ` heading, or
    /// the end) of the file at `path`, or appends it.
    static func replaceSection(in path: String, with section: String) throws {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        var lines = text.components(separatedBy: "\n")
        if let start = lines.firstIndex(of: heading) {
            let next = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.endIndex
            let marker = lines[(start + 1)..<next].firstIndex(of: endMarker).map { $0 + 1 }
            let end = marker ?? next
            lines.replaceSubrange(start..<end, with: section.components(separatedBy: "\n") + (marker == nil && end < lines.endIndex ? [""] : []))
        } else {
            if lines.last == "" { lines.removeLast() }
            lines += ["", section]
        }
        var out = lines.joined(separator: "\n")
        if !out.hasSuffix("\n") { out += "\n" }
        try out.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ quantile: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((quantile * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    static func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

    static func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
}
