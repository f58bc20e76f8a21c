import ArgumentParser
import Foundation
import S2M3Core

/// `s2m3 bench placement`: how close greedy and auto come to the optimum on seeded random
/// instances of the paper's sizes, how auto's solve time grows, and the memory sharing saves on the
/// paper-scale catalog. Build with `swift build -c release` first; timings of debug builds mean little.
struct BenchPlacementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Benchmark the placement algorithms (optimality, solve time, memory saved by sharing)."
    )

    @Option(help: "Random instances of the paper's sizes to solve exactly.")
    var instances = 200

    @Option(help: "Seed of the first instance (instance i uses seed + i).")
    var seed: UInt64 = 1

    @Option(help: "Time limit of the exact solver per instance, in seconds.")
    var exactTimeLimit = 60.0

    @Option(help: "Instance sizes for the solve-time table, as modules x devices, comma-separated.")
    var sizes = "20x4,50x10,100x20,200x40,500x100,1000x200,30x200,30x1000"

    @Option(help: "Seeds per size in the solve-time table (the median is reported).")
    var repeats = 3

    @Option(help: "Catalog instance for the sharing table.")
    var catalog = "examples/placement/paper-scale.json"

    @Option(help: "Write every random instance of the optimality and solve-time tables to this folder (to reproduce one with `s2m3 plan`).")
    var writeInstances: String?

    @Flag(help: "Print every instance's gaps to standard error.")
    var verbose = false

    @Flag(help: "Skip the optimality table.")
    var skipOptimality = false

    @Flag(help: "Skip the solve-time table.")
    var skipScaling = false

    func run() throws {
        print("<!-- s2m3 bench placement --instances \(instances) --seed \(seed) --sizes \(sizes) --repeats \(repeats) -->")
        if !skipOptimality {
            try optimality(
                .paperAssumptions, name: "paperAssumptions",
                load: "the paper's assumptions (cheap communication: outputs ≤ 16 KB on 1 Gbit/s links, light load)")
            try optimality(.paperScale, name: "paperScale", load: "light load (demand ≤ 5 % of compute)")
            try optimality(.paperScaleLoaded, name: "paperScaleLoaded", load: "under load (demand ≤ 30 % of compute)")
        }
        if !skipScaling { try scaling() }
        try sharing()
    }
}
