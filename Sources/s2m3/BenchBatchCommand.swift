import ArgumentParser
import Foundation
import LocalCluster
import S2M3Client
import S2M3Core

/// `s2m3 bench batch`: classify-image throughput and latency with the devices' dynamic batching
/// off (`--device-max-batch 1`) and on (the default, 8), on two `s2m3 up` clusters started side by
/// side (each on a broker of its own), measured in alternating phases of a closed loop; with
/// `--serve`, two `s2m3 serve` processes instead (`--max-batch 1` and N). Prints Markdown for
/// docs/benchmarks.md.
struct BenchBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Throughput and latency with dynamic batching on the devices off and on, interleaved."
    )

    @OptionGroup var modules: CatalogOptions

    @Option(help: "Device agents of each cluster.")
    var devices = 2

    @Option(help: "Requests in flight during a phase.")
    var concurrency = 8

    @Option(help: "Seconds of each phase.")
    var seconds = 10.0

    @Option(help: "Phases per mode (alternating off, on, off, on, …).")
    var rounds = 3

    @Option(help: "The largest batch of the 'on' cluster.")
    var maxBatch = 8

    @Option(help: "The JPEG sent (default: chelsea.jpg of the fixture cache).")
    var image: String?

    @Flag(help: "Compare `s2m3 serve --max-batch 1` with `--max-batch N` (one process, no devices) instead of two clusters.")
    var serve = false

    func run() async throws {
        let path = image ?? CacheDirectory.path + "/fixtures/chelsea.jpg"
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path): run scripts/setup.sh or give --image") }
        guard concurrency >= 1, rounds >= 1, seconds > 0, maxBatch >= 2 else { throw ValidationError("--concurrency, --rounds ≥ 1, --seconds > 0, --max-batch ≥ 2") }
        let option = serve ? "serve --max-batch" : "--device-max-batch"
        let modes = [("off (\(option) 1)", 1), ("on (\(option) \(maxBatch))", maxBatch)]
        var rigs: [BenchOverloadRig] = []
        do {
            for (_, batch) in modes {
                rigs.append(
                    serve
                        ? try await BenchOverloadRig.startServe(modules: modules, arguments: ["--max-batch", String(batch)])
                        : try await BenchOverloadRig.start(
                            devices: devices, admission: true, modules: modules, upArguments: ["--device-max-batch", String(batch), "--device-gflops", "100"]))
            }
            var perSecond: [[Double]] = modes.map { _ in [] }, latencies: [[Double]] = modes.map { _ in [] }
            var failures = modes.map { _ in 0 }
            for (index, rig) in rigs.enumerated() {
                _ = try await load(rig, data, "warm-\(index)").closedLoop(concurrency: concurrency, seconds: 3)
            }
            for round in 0..<rounds {
                for (index, rig) in rigs.enumerated() {
                    let outcome = try await load(rig, data, "r\(round)-\(index)").closedLoop(concurrency: concurrency, seconds: seconds)
                    perSecond[index].append(outcome.throughputPerSecond ?? outcome.answeredPerSecond)
                    latencies[index] += outcome.resultLatenciesMs
                    failures[index] += outcome.errors.values.reduce(0, +) + outcome.silent
                    print("round \(round + 1) \(modes[index].0): \(String(format: "%.2f", perSecond[index].last!)) results/s")
                }
            }
            func median(_ values: [Double]) -> Double { LoadOutcome.quantile(values, 0.5) ?? 0 }
            let base = median(perSecond[0]), baseP50 = median(latencies[0])
            print("\n| batching | results/s (median of \(rounds)) | ratio | latency p50 ms | p99 ms | errors or silent |")
            print("|---|---|---|---|---|---|")
            for (index, mode) in modes.enumerated() {
                let rate = median(perSecond[index]), p50 = median(latencies[index])
                print("| \(mode.0) | \(String(format: "%.2f", rate)) | \(String(format: "%.2f", base > 0 ? rate / base : 0)) "
                    + "| \(String(format: "%.0f", p50)) (\(String(format: "%.2f", baseP50 > 0 ? p50 / baseP50 : 0))×) "
                    + "| \(String(format: "%.0f", LoadOutcome.quantile(latencies[index], 0.99) ?? 0)) | \(failures[index]) |")
            }
        } catch {
            for rig in rigs { await rig.stop() }
            throw error
        }
        for rig in rigs { await rig.stop() }
    }

    private func load(_ rig: BenchOverloadRig, _ data: Data, _ name: String) -> RequestLoad {
        RequestLoad(connection: rig.connection, task: "classify-image", payload: [UInt8](data), contentType: MediaType.jpeg, name: name)
    }
}
