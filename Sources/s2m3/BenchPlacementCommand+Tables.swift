import Foundation
import PlacementGenerators
import PlacementPlanning
import S2M3Core

extension BenchPlacementCommand {
    /// Share of instances where each algorithm reaches the proven optimum, with mean and worst gap.
    func optimality(_ generator: RandomPlacementInstances, name generatorName: String, load: String) throws {
        var exactOptions = PlacementOptions()
        exactOptions.exactTimeLimit = .milliseconds(Int(exactTimeLimit * 1000))
        exactOptions.exactNodeLimit = Int.max
        var heuristicOptions = PlacementOptions()
        heuristicOptions.autoExactModuleLimit = -1
        heuristicOptions.replicas = false

        var rows: [String: [Double]] = [:]  // algorithm → gaps on proven instances
        var times: [String: [Double]] = [:]
        var unproven = 0
        var infeasible = 0
        var replicaGains: [Double] = []
        for i in 0..<instances {
            let instance = generator.generate(seed: seed &+ UInt64(i))
            if let folder = writeInstances {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try instance.jsonData().write(to: URL(fileURLWithPath: "\(folder)/\(generatorName)-\(seed &+ UInt64(i)).json"))
            }
            let exact: PlacementResult
            do {
                exact = try Placement.solve(instance, algorithm: .exact, options: exactOptions)
            } catch {
                if verbose { FileHandle.standardError.write("seed \(seed &+ UInt64(i)) exact: \(error)\n".data(using: .utf8)!) }
                infeasible += 1
                continue
            }
            guard exact.placement.provenOptimal else {
                unproven += 1
                continue
            }
            let optimum = exact.placement.objectiveSeconds
            times["exact", default: []].append(exact.solveSeconds)
            let runs: [(String, PlacementAlgorithm, PlacementOptions)] = [
                ("greedy", .greedy, PlacementOptions()),
                ("greedy + local search", .auto, heuristicOptions),
                ("auto", .auto, PlacementOptions()),
            ]
            for (name, algorithm, options) in runs {
                do {
                    let result = try Placement.solve(instance, algorithm: algorithm, options: options)
                    rows[name, default: []].append(result.placement.objectiveSeconds / optimum - 1)
                    if verbose {
                        FileHandle.standardError.write(
                            "seed \(seed &+ UInt64(i)) \(name): gap \(result.placement.objectiveSeconds / optimum - 1) \(result.placement.steps)\n"
                                .data(using: .utf8)!)
                    }
                    times[name, default: []].append(result.solveSeconds)
                    if name == "auto" { replicaGains.append(1 - result.placement.objectiveSeconds / optimum) }
                } catch {
                    if verbose { FileHandle.standardError.write("seed \(seed &+ UInt64(i)) \(name): \(error)\n".data(using: .utf8)!) }
                    rows[name, default: []].append(.infinity)  // the heuristic stranded a module
                }
            }
        }
        let solved = rows["greedy"]?.count ?? 0
        print("\n### Optimality on \(instances) random instances of the paper's sizes, \(load)\n")
        print("2–6 devices, 4–20 modules, 2–5 tasks of 2–6 nodes (`RandomPlacementInstances.\(generatorName)`, seeds \(seed)…\(seed &+ UInt64(instances) - 1)).")
        print("Optimum = `exact` (branch and bound, proven). \(solved) proven, \(unproven) not proven within \(Int(exactTimeLimit)) s, \(infeasible) infeasible.\n")
        print("| algorithm | optimal (gap ≤ 1e-9) | share | within 1 % | mean gap | worst gap | median solve time | slowest solve |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name in ["greedy", "greedy + local search", "auto"] {
            let gaps = rows[name] ?? []
            let optimal = gaps.filter { $0 <= 1e-9 }.count
            let close = gaps.filter { $0 <= 0.01 }.count
            let finite = gaps.filter(\.isFinite)
            let mean = finite.isEmpty ? 0 : finite.reduce(0, +) / Double(finite.count)
            let worst = gaps.max() ?? 0
            let stranded = gaps.count - finite.count
            let worstFinite = finite.max() ?? 0
            let worstText =
                worst.isFinite ? percent(max(0, worst)) : "\(percent(max(0, worstFinite))); no placement \(stranded)×"
            print(
                "| \(name) | \(optimal)/\(gaps.count) | \(percent(Double(optimal) / Double(max(1, gaps.count)))) | "
                    + "\(percent(Double(close) / Double(max(1, gaps.count)))) | "
                    + "\(percent(max(0, mean))) | \(worstText) | \(milliseconds(median(times[name] ?? []))) | "
                    + "\(milliseconds(times[name]?.max() ?? .nan)) |")
        }
        print(
            "| exact | \(solved)/\(solved) | 100 % | 100 % | 0 % | 0 % | \(milliseconds(median(times["exact"] ?? []))) | "
                + "\(milliseconds(times["exact"]?.max() ?? .nan)) |")
        let improved = replicaGains.filter { $0 > 1e-9 }
        print(
            "\n`auto` adds replicas after the single-copy optimum: below the optimum on \(improved.count) instances "
                + "(mean improvement there \(percent(improved.isEmpty ? 0 : improved.reduce(0, +) / Double(improved.count)))). "
                + "Paper: greedy optimal in 89/95 = 93.7 %.")
    }

    /// Solve time of auto (and greedy, side by side) as instances grow.
    func scaling() throws {
        print("\n### Solve time as instances grow\n")
        print("`RandomPlacementInstances.scaled(modules:devices:)`: tasks = modules / 4 of 2–8 nodes; median of \(repeats) seeds.\n")
        print("| modules × devices | task nodes | greedy | auto (median) | auto (slowest) | auto cut by time | auto ÷ greedy objective | auto steps (last seed) |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for size in sizes.split(separator: ",") {
            let parts = size.split(separator: "x").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2 else { continue }
            var greedyTimes: [Double] = [], autoTimes: [Double] = [], ratios: [Double] = []
            var nodes = 0
            var cut = 0
            var steps = ""
            for r in 0..<repeats {
                let instanceSeed = seed &+ UInt64(1000 + r)
                let instance = RandomPlacementInstances.scaled(modules: parts[0], devices: parts[1]).generate(seed: instanceSeed)
                if let folder = writeInstances {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                    try instance.jsonData().write(to: URL(fileURLWithPath: "\(folder)/scaled-\(parts[0])x\(parts[1])-\(instanceSeed).json"))
                }
                nodes = instance.tasks.reduce(0) { $0 + $1.graph.nodes.count }
                guard let greedy = try? Placement.solve(instance, algorithm: .greedy),
                    let auto = try? Placement.solve(instance, algorithm: .auto)
                else { continue }
                greedyTimes.append(greedy.solveSeconds)
                autoTimes.append(auto.solveSeconds)
                if auto.placement.budgetExhausted { cut += 1 }
                ratios.append(auto.placement.objectiveSeconds / greedy.placement.objectiveSeconds)
                steps = auto.placement.steps.joined(separator: "; ")
            }
            print(
                "| \(parts[0]) × \(parts[1]) | \(nodes) | \(milliseconds(median(greedyTimes))) | \(milliseconds(median(autoTimes))) | "
                    + "\(milliseconds(autoTimes.max() ?? .nan)) | \(cut)/\(autoTimes.count) | "
                    + "\(String(format: "%.3f", median(ratios))) | \(steps) |")
        }
    }

    /// Memory saved by sharing on the paper-scale catalog.
    func sharing() throws {
        let url = URL(fileURLWithPath: catalog)
        guard let data = try? Data(contentsOf: url) else {
            print("\n(sharing table skipped: \(catalog) not found)")
            return
        }
        let instance = try PlacementInstance(json: data)
        print("\n### Memory saved by sharing (\(catalog))\n")
        print(PlacementSharingReport(instance).markdown())
    }
}

private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

private func percent(_ value: Double) -> String {
    String(format: value < 0.001 && value > 0 ? "%.3f %%" : "%.1f %%", value * 100)
}

private func milliseconds(_ seconds: Double) -> String {
    seconds < 0.001 ? String(format: "%.3f ms", seconds * 1000) : String(format: "%.1f ms", seconds * 1000)
}
