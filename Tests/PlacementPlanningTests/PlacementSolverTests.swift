import Foundation
import Testing

import PlacementGenerators
@testable import PlacementPlanning
import S2M3Core

@Suite("Placement solver")
struct PlacementSolverTests {
    typealias F = PlacementFixtures
    /// Up to 10 modules on up to 4 devices: small enough for branch and bound in a debug build.
    static let small = RandomPlacementInstances(devices: 2...4, modules: 3...10, tasks: 1...4)
    /// Up to 6 modules on up to 3 devices: at most 729 assignments to enumerate.
    static let tiny = RandomPlacementInstances(devices: 2...3, modules: 2...6, tasks: 1...3)
    static let seeds: [UInt64] = Array(1...40)

    @Test(arguments: PlacementAlgorithm.allCases)
    func memoryNeverExceededAndEveryNeededModulePlaced(algorithm: PlacementAlgorithm) throws {
        var solved = 0
        for seed in Self.seeds {
            let instance = Self.small.generate(seed: seed)
            let placement: Placement
            do {
                placement = try Placement.solve(instance, algorithm: algorithm).placement
            } catch {
                // Only the greedy rule may strand a module on a feasible instance (generated ones are).
                #expect(algorithm == .greedy && error.code == .infeasible, "seed \(seed): \(error)")
                continue
            }
            solved += 1
            let used = F.memoryUsed(instance, placement.hosts)
            for device in instance.devices {
                #expect(used[device.id, default: 0] <= device.memoryBytes, "seed \(seed): \(device.id) over budget")
                #expect(placement.deviceMemoryUsedBytes[device.id] == used[device.id, default: 0])
            }
            for module in F.neededModules(instance) {
                #expect(!(placement.hosts[module] ?? []).isEmpty, "seed \(seed): \(module) not placed")
            }
            for task in instance.tasks {
                for node in task.graph.nodes {
                    let device = try #require(placement.routes[task.id]?[node.id])
                    #expect(placement.hosts[node.module]?.contains(device) == true, "route to a device without the module")
                }
                #expect(placement.taskLatencySeconds[task.id]!.isFinite)
            }
        }
        #expect(solved >= Self.seeds.count * 3 / 4)
    }

    @Test func exactNeverWorseThanGreedyAndProvesOptimality() throws {
        var compared = 0
        for seed in Self.seeds {
            let instance = Self.small.generate(seed: seed)
            let exact = try Placement.solve(instance, algorithm: .exact).placement
            #expect(exact.provenOptimal, "seed \(seed)")
            guard let greedy = try? Placement.solve(instance, algorithm: .greedy).placement else { continue }
            #expect(exact.objectiveSeconds <= greedy.objectiveSeconds * (1 + 1e-12), "seed \(seed)")
            compared += 1
        }
        #expect(compared >= 20)
    }

    @Test func exactEqualsBruteForceOnTinyInstances() throws {
        for seed in Self.seeds {
            let instance = Self.tiny.generate(seed: seed)
            let optimum = try #require(try F.bruteForceOptimum(instance), "seed \(seed) has a placement by construction")
            let exact = try Placement.solve(instance, algorithm: .exact).placement
            #expect(abs(exact.objectiveSeconds - optimum) <= 1e-12 * optimum, "seed \(seed)")
            #expect(exact.hosts.values.allSatisfy { $0.count == 1 }, "exact places single copies")
        }
    }

    @Test func autoIsNeverWorseThanTheSingleCopyOptimum() throws {
        for seed in Self.seeds.prefix(20) {
            let instance = Self.small.generate(seed: seed)
            let exact = try Placement.solve(instance, algorithm: .exact).placement
            let auto = try Placement.solve(instance, algorithm: .auto).placement
            #expect(auto.objectiveSeconds <= exact.objectiveSeconds * (1 + 1e-12), "seed \(seed)")
        }
    }

    @Test(arguments: PlacementAlgorithm.allCases)
    func deterministic(algorithm: PlacementAlgorithm) throws {
        for seed in Self.seeds.prefix(15) {
            let instance = Self.small.generate(seed: seed)
            let decoded = try PlacementInstance(json: instance.jsonData())
            let first = try? Placement.solve(instance, algorithm: algorithm).placement
            let second = try? Placement.solve(decoded, algorithm: algorithm).placement
            #expect(first == second, "seed \(seed)")
        }
        #expect(Self.small.generate(seed: 7) == Self.small.generate(seed: 7))
        #expect(Self.small.generate(seed: 7) != Self.small.generate(seed: 8))
    }

    @Test func replanAfterADeviceLeavesKeepsEverythingElse() throws {
        var checked = 0
        for seed in Self.seeds {
            let instance = Self.small.generate(seed: seed)
            guard instance.devices.count >= 3 else { continue }
            let before = try Placement.solve(instance, algorithm: .auto).placement
            // The device hosting most modules leaves.
            let busiest = instance.devices.map(\.id).max { a, b in
                before.hosts.values.filter { $0.contains(a) }.count < before.hosts.values.filter { $0.contains(b) }.count
            }!
            var after = instance
            after.devices.removeAll { $0.id == busiest }
            guard let replanned = try? Placement.solve(after, algorithm: .auto, previous: before).placement else { continue }
            checked += 1
            var orphans = 0
            for (module, hosts) in before.hosts {
                let survivors = hosts.filter { $0 != busiest }
                if survivors.isEmpty { orphans += 1 }
                for device in survivors {
                    #expect(replanned.hosts[module]?.contains(device) == true, "seed \(seed): \(module) left \(device)")
                }
            }
            #expect(replanned.moves == orphans, "seed \(seed): one load per module that lost its only device")
            #expect(replanned.loads.allSatisfy { before.hosts[$0.module] == [busiest] })
            #expect(replanned.unloads.isEmpty)
            #expect(!replanned.hosts.values.contains { $0.contains(busiest) })
        }
        #expect(checked >= 10)
    }

    @Test func replanWithNothingChangedMovesNothing() throws {
        let instance = Self.small.generate(seed: 3)
        let before = try Placement.solve(instance, algorithm: .auto).placement
        let again = try Placement.solve(instance, algorithm: .auto, previous: before).placement
        #expect(again.moves == 0)
        #expect(again.hosts == before.hosts)
    }

    /// What a planner publishes and reads back: the placement itself and the plan report's hosts.
    @Test func placementAndReportRoundTripThroughJSON() throws {
        let instance = Self.small.generate(seed: 5)
        let result = try Placement.solve(instance, algorithm: .auto)
        let data = try JSONEncoder().encode(result.placement)
        #expect(try JSONDecoder().decode(Placement.self, from: data) == result.placement)
        let report = PlacementReport(instance: instance, result: result)
        #expect(try PlacementReport.hosts(fromJSON: report.jsonData()) == result.placement.hosts)
        #expect(report.schema == "s2m3.placement-report/1")
        #expect(abs(report.objectiveMs - result.placement.objectiveSeconds * 1000) < 1e-9)
        #expect { try PlacementReport.hosts(fromJSON: Data("{}".utf8)) } throws: {
            ($0 as? PlacementError)?.code == .malformedInstance && "\($0)".contains("placement")
        }
    }

    @Test func moduleLargerThanEveryDeviceIsNamed() {
        let instance = PlacementInstance(
            devices: [F.device("small", memory: 1_000_000_000), F.device("big", memory: 2_000_000_000)],
            modules: [F.module("llm", memory: 5_000_000_000)], tasks: [F.task("t", [("n", "llm", ["in"])])])
        #expect {
            try Placement.solve(instance)
        } throws: { error in
            guard let error = error as? PlacementError, error.code == .infeasible else { return false }
            return error.message.contains("'llm'") && error.message.contains("'big'") && error.message.contains("5.00 GB")
        }
    }

    /// 3 × 600 MB on two 1 GB devices: enough memory in total, but no packing exists.
    @Test(arguments: PlacementAlgorithm.allCases)
    func packingInfeasibilityNamesWhatDoesNotFitWhere(algorithm: PlacementAlgorithm) {
        let instance = PlacementInstance(
            devices: [F.device("d1", memory: 1_000_000_000), F.device("d2", memory: 1_000_000_000)],
            modules: [
                F.module("a", memory: 600_000_000, gflop: 3), F.module("b", memory: 600_000_000, gflop: 2),
                F.module("c", memory: 600_000_000, gflop: 1),
            ],
            tasks: [F.task("t", [("a", "a", ["in"]), ("b", "b", ["in"]), ("c", "c", ["a", "b"])])])
        #expect {
            try Placement.solve(instance, algorithm: algorithm)
        } throws: { error in
            guard let error = error as? PlacementError, error.code == .infeasible else { return false }
            return error.message.contains("'c'") && error.message.contains("d1 400.0 MB free")
                && error.message.contains("d2 400.0 MB free")
        }
    }

    @Test func overloadIsReported() {
        let instance = PlacementInstance(
            devices: [F.device("d", gflops: 10)], modules: [F.module("m", gflop: 5)],
            tasks: [F.task("t", rate: 3, [("n", "m", ["in"])])])
        #expect { try Placement.solve(instance) } throws: { ($0 as? PlacementError)?.code == .overloaded }
    }

    /// Greedy puts the compute-heavy module on the big fast device and strands the large one;
    /// exact and auto find the placement that fits.
    @Test func autoAndExactRecoverWhereGreedyStrands() throws {
        let instance = PlacementInstance(
            devices: [F.device("fast", memory: 1000, gflops: 1000), F.device("slow", memory: 500, gflops: 10)],
            modules: [F.module("heavy", memory: 500, gflop: 100), F.module("large", memory: 600, gflop: 1)],
            tasks: [F.task("t", rate: 0, [("h", "heavy", ["in"]), ("l", "large", ["h"])])])
        #expect { try Placement.solve(instance, algorithm: .greedy) } throws: {
            ($0 as? PlacementError)?.code == .infeasible && "\($0)".contains("'large'")
        }
        for algorithm in [PlacementAlgorithm.exact, .auto] {
            let placement = try Placement.solve(instance, algorithm: algorithm).placement
            #expect(placement.hosts["large"] == ["fast"])
            #expect(placement.hosts["heavy"] == ["slow"])
            #expect(placement.provenOptimal)
        }
    }

    @Test func unusedModulesAreReportedNotPlaced() throws {
        let instance = PlacementInstance(
            devices: [F.device("d")], modules: [F.module("used"), F.module("spare")],
            tasks: [F.task("t", [("n", "used", ["in"])])])
        let placement = try Placement.solve(instance).placement
        #expect(placement.unusedModules == ["spare"])
        #expect(placement.hosts["spare"] == nil)
    }

    @Test func explanationFindsNoBetterDeviceForAnExactPlacement() throws {
        for seed in Self.seeds.prefix(10) {
            let instance = Self.small.generate(seed: seed)
            let placement = try Placement.solve(instance, algorithm: .exact).placement
            let explanation = try PlacementExplanation(instance: instance, placement: placement)
            #expect(explanation.entries.count == placement.hosts.values.reduce(0) { $0 + $1.count })
            for entry in explanation.entries {
                if let delta = entry.runnerUpDeltaSeconds {
                    #expect(delta >= -1e-12 * placement.objectiveSeconds, "seed \(seed): \(entry.module)")
                }
            }
        }
    }
}
