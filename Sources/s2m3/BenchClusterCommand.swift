import ArgumentParser
import Catalog
import Foundation
import LocalCluster
import Logging
import S2M3Core
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// `s2m3 bench cluster`: distributed execution against its baselines, side by side in one run
/// (issue 5). Per task, end-to-end latency at the client (p50, p99) for: the local cluster with
/// parallel routing; the same devices behind an aggregator started with `--sequential`; the
/// monolithic runner in this process; `s2m3 serve` on a loopback broker; and "cloud", that same
/// server reached through `scripts/bench/wan-relay.py` (a delaying, rate-limiting TCP relay).
/// Then throughput with 1, 2 and 3 device agents under concurrent requests.
///
/// Every service is a child process of this executable (broker, planner, aggregator, devices,
/// serve); build with `swift build -c release` first.
struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Benchmark distributed execution against sequential, monolithic and cloud baselines, and throughput with 1–3 devices."
    )

    @Option(help: "Timed requests per task and mode (after the warm-up).")
    var requests = 20

    @Option(help: "Warm-up requests per task and mode.")
    var warmUp = 2

    @Option(help: "Tasks of the latency rounds, comma-separated (default: every task of the catalog with a fixture).")
    var tasks: String?

    @Option(help: "Device agents of the latency runs.")
    var devices = 3

    @Option(help: "Inference threads of each device agent (`s2m3 device --threads`; the in-process runner and `s2m3 serve` use 2).")
    var deviceThreads = 1

    @Option(help: "Device counts of the throughput runs, comma-separated.")
    var throughputDevices = "1,2,3"

    @Option(help: "Requests in flight at once in the throughput runs.")
    var concurrency = 8

    @Option(help: "Seconds of load counted in each throughput run (after one warm-up per task and the settling).")
    var throughputSeconds = 30.0

    @Option(help: "Seconds of the same load before each throughput run is counted: the planner re-plans for a measured load about 30 s in and again about 30 s later (docs/placement.md); 0 measures the first plan.")
    var throughputSettle = 70.0

    @Option(name: .customLong("throughput-mix"), help: "Tasks of a throughput run, comma-separated, or 'all'; repeat for several runs (default: classify-image,match-image-text and all).")
    var throughputMixes: [String] = []

    @Option(help: "One-way delay of the emulated WAN link, ms.")
    var wanDelayMs = 20.0

    @Option(help: "Rate of the emulated WAN link, each way, Mbit/s.")
    var wanRateMbit = 20.0

    @Option(help: "Module catalog.")
    var catalog = ClusterCatalog.defaultCatalog

    @Option(help: "Folder of the module files (default: ${S2M3_CACHE:-.cache}/models).")
    var models: String?

    @Option(help: "Folder of the fixtures (default: ${S2M3_CACHE:-.cache}/fixtures).")
    var fixtures: String?

    @Option(help: "Folder for the services' logs (default: a new folder under the temporary directory).")
    var logs: String?

    @Option(help: "Write every timed answer (latency rounds and throughput runs), with its timeline, to this file as JSON lines (scripts/bench/timelines.py and hops.py sum them up).")
    var timelines: String?

    @Flag(help: "Instead: each device's peak resident memory against its budget during the demo's requests and a load (--concurrency, --throughput-seconds), with ONNX Runtime's own memory settings and with the default ones.")
    var memory = false

    @Option(help: "Replace (or append) the section \"\(BenchClusterText.heading)\" of this Markdown file with the tables.")
    var write: String?

    func validate() throws {
        guard requests >= 1, warmUp >= 0 else { throw ValidationError("--requests must be at least 1, --warm-up at least 0") }
        guard (1...16).contains(deviceThreads) else { throw ValidationError("--device-threads must be between 1 and 16") }
        guard (1...16).contains(devices) else { throw ValidationError("--devices must be between 1 and 16") }
        guard concurrency >= 1, throughputSeconds > 0, throughputSettle >= 0 else {
            throw ValidationError("--concurrency must be at least 1, --throughput-seconds positive and --throughput-settle at least 0")
        }
        guard !throughputDeviceCounts.isEmpty, throughputDeviceCounts.allSatisfy({ (1...16).contains($0) }) else {
            throw ValidationError("--throughput-devices must list device counts between 1 and 16, e.g. 1,2,3")
        }
        guard wanDelayMs >= 0, wanRateMbit > 0 else { throw ValidationError("--wan-delay-ms must be ≥ 0 and --wan-rate-mbit > 0") }
    }

    var mixes: [String] { throughputMixes.isEmpty ? ["classify-image,match-image-text", "all"] : throughputMixes }

    var throughputDeviceCounts: [Int] { throughputDevices.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    /// The command line that reproduces this run (for the document).
    var commandLine: String {
        var parts = ["s2m3 bench cluster"] + (tasks.map { ["--tasks \($0)"] } ?? [])
            + ["--requests \(requests)", "--warm-up \(warmUp)", "--devices \(devices)", "--device-threads \(deviceThreads)",
               "--throughput-devices \(throughputDevices)", "--concurrency \(concurrency)",
               "--throughput-seconds \(BenchClusterText.format(throughputSeconds, 0))",
               "--throughput-settle \(BenchClusterText.format(throughputSettle, 0))"] + mixes.map { "--throughput-mix \($0)" }
        if wanDelayMs != 20 || wanRateMbit != 20 { parts.append("--wan-delay-ms \(wanDelayMs) --wan-rate-mbit \(wanRateMbit)") }
        return parts.joined(separator: " ")
    }

    func run() async throws {
        let cache = CacheDirectory.path
        let cluster = try await ClusterCatalog.load(catalog: catalog, models: models)
        let inputs = try BenchInputs(directory: fixtures ?? (cache as NSString).appendingPathComponent("fixtures")).requests()
        let known = cluster.catalog.tasks.map(\.id).filter { inputs[$0] != nil }
        let tasks = try self.tasks.map { list in
            let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty, names.allSatisfy(known.contains) else {
                throw ValidationError("--tasks: unknown task in '\(list)'; tasks: \(known.joined(separator: ", "))")
            }
            return names
        } ?? known
        let mixes = try self.mixes.map { mix in
            let names = mix == "all" ? known : mix.split(separator: ",").map(String.init)
            guard !names.isEmpty, names.allSatisfy({ inputs[$0] != nil }) else {
                throw ValidationError("--throughput-mix: unknown task in '\(mix)'; tasks: \(known.joined(separator: ", "))")
            }
            return names
        }
        let logDirectory = logs ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("s2m3-bench-cluster-\(getpid())")
        if memory { return try await runMemory(cluster: cluster, logDirectory: logDirectory) }
        let timelineLog = try timelines.map(BenchTimelineLog.init(path:))
        let (begin, loadBefore) = (Date(), BenchClusterRig.loadAverage())
        let rig = try await BenchClusterRig.start(
            cluster: cluster, logDirectory: logDirectory, deviceThreads: deviceThreads, wanDelayMs: wanDelayMs, wanRateMbit: wanRateMbit)
        var started = BenchClusterReport(command: commandLine, tasks: tasks, started: begin, loadBefore: loadBefore)
        started.written = write
        started.cache = cache
        started.machine = BenchClusterRig.machine()
        started.wan = (wanDelayMs, wanRateMbit)
        started.concurrency = concurrency
        started.deviceThreads = deviceThreads
        started.throughputSeconds = throughputSeconds
        started.throughputSettle = throughputSettle
        let measure = BenchClusterMeasure(
            rig: rig, inputs: inputs, tasks: tasks, requests: requests, warmUp: warmUp, settleSeconds: throughputSettle, timelines: timelineLog)
        let (counts, concurrency, seconds) = (throughputDeviceCounts, concurrency, throughputSeconds)
        let work = { @Sendable [started, devices] () async throws -> BenchClusterReport in
            var report = started
            try await measure.latency(devices: devices, into: &report)
            for count in counts {
                report.throughput += try await measure.throughput(devices: count, mixes: mixes, concurrency: concurrency, seconds: seconds)
            }
            report.throughput += await measure.throughputServe(mixes: mixes, concurrency: concurrency, seconds: seconds)
            return report
        }
        // Ctrl-C / SIGTERM (graceful shutdown): stop the server, relay and brokers; the clusters'
        // own watchdog stops their services when this process exits.
        let finished = Mutex<Result<BenchClusterReport, any Error>?>(nil)
        let measuring = TaskService {
            let outcome = await withTaskGroup(of: Result<BenchClusterReport, any Error>?.self) { group in
                group.addTask {
                    do { return .success(try await work()) } catch { return .failure(error) }
                }
                group.addTask {
                    _ = try? await gracefulShutdown()
                    return nil
                }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
            finished.withLock { $0 = outcome }
        }
        try await ProcessServices.run([measuring], logger: Logger(label: "s2m3.bench-cluster"))
        let outcome = finished.withLock { $0 }
        await rig.stop()
        var report: BenchClusterReport
        switch outcome {
        case .success(let finished): report = finished
        case .failure(let error):
            print("bench cluster: failed: \(error) (logs in \(logDirectory))")
            throw ExitCode(1)
        case nil:
            print("bench cluster: interrupted (logs in \(logDirectory))")
            throw ExitCode(130)
        }
        report.loadAfter = BenchClusterRig.loadAverage()
        report.finished = Date()
        let text = BenchClusterText.markdown(report)
        print(text)
        if let write {
            try BenchClusterText.replaceSection(in: write, with: text)
            print("wrote the section \"\(BenchClusterText.heading)\" of \(write)")
        }
    }
}
