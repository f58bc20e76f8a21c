import PlacementGenerators
import Testing

@testable import PlacementPlanning
import S2M3Core

/// The whole solve keeps its time limit (one deadline for local search, branch and bound and
/// replicas) and says when time cut it. Wall-time bounds are generous: these run in debug builds
/// on a shared machine. Speed itself is measured by `s2m3 bench placement` (docs/benchmarks.md).
@Suite("Placement time limits")
struct PlacementTimeLimitTests {
    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// 30 modules on 200 devices: branch and bound cannot prove anything here (one decision bounds
    /// a child per device over every device). With the clock read every 1,024 decisions, as before
    /// the solve-wide deadline, this test took 6.7 s in a debug build (checked by putting that
    /// check back).
    @Test func exactKeepsItsLimitOnManyDevices() throws {
        let instance = RandomPlacementInstances.scaled(modules: 30, devices: 200).generate(seed: 1000)
        var options = PlacementOptions()
        options.exactTimeLimit = .milliseconds(500)
        let clock = ContinuousClock()
        let start = clock.now
        let result = try Placement.solve(instance, algorithm: .exact, options: options)
        let elapsed = Self.seconds(clock.now - start)
        #expect(elapsed < 1.5, "took \(elapsed) s with a 0.5 s limit")
        #expect(result.placement.budgetExhausted)
        #expect(!result.placement.provenOptimal)
        #expect(result.placement.steps.contains { $0.contains("time limit reached") })
        try expectComplete(result.placement, instance)
    }

    /// `auto` with branch and bound allowed (the device limit lifted) and a 0.5 s limit: the
    /// deadline is the whole solve's, so whichever phase it cuts (in a debug build local search
    /// usually uses it up and branch and bound does not start), replicas after it get none.
    @Test func autoKeepsItsLimitWithBranchAndBoundForced() throws {
        let instance = RandomPlacementInstances.scaled(modules: 30, devices: 200).generate(seed: 1001)
        var options = PlacementOptions()
        options.autoExactTimeLimit = .milliseconds(500)
        options.autoExactDeviceLimit = .max
        let clock = ContinuousClock()
        let start = clock.now
        let result = try Placement.solve(instance, algorithm: .auto, options: options)
        let elapsed = Self.seconds(clock.now - start)
        #expect(elapsed < 1.5, "took \(elapsed) s with a 0.5 s limit")
        #expect(result.placement.budgetExhausted)
        // Branch and bound stopped by the deadline (or not started, when local search used it up).
        #expect(result.placement.steps.contains { $0.hasPrefix("branch and bound:") && $0.contains("time limit reached") })
        #expect(result.placement.steps.contains { $0.hasPrefix("replicas: time limit reached") })
        try expectComplete(result.placement, instance)
    }

    /// A caller's deadline already passed: greedy's placement comes back (greedy always finishes),
    /// every later phase says time cut it, and the plan is still complete and fits.
    @Test func passedDeadlineGivesGreedysPlacementReportedAsCut() throws {
        let instance = RandomPlacementInstances.scaled(modules: 20, devices: 4).generate(seed: 1000)
        var options = PlacementOptions()
        options.deadline = ContinuousClock.now
        let result = try Placement.solve(instance, algorithm: .auto, options: options)
        let greedy = try Placement.solve(instance, algorithm: .greedy)
        #expect(result.placement.budgetExhausted)
        #expect(result.placement.hosts == greedy.placement.hosts)
        #expect(
            result.placement.steps == [
                "greedy: placed 20 modules", "local search: time limit reached, 0 moves or swaps kept",
                "branch and bound: not run, time limit reached", "replicas: time limit reached, 0 added",
            ])
        try expectComplete(result.placement, instance)
        // Without a deadline the same instance is not cut.
        let free = try Placement.solve(instance, algorithm: .auto)
        #expect(!free.placement.budgetExhausted)
        #expect(!free.placement.steps.contains { $0.contains("time limit") })
    }

    /// Every module a task uses has a host and no device's memory is exceeded.
    private func expectComplete(_ placement: Placement, _ instance: PlacementInstance) throws {
        for module in PlacementFixtures.neededModules(instance) {
            #expect(!(placement.hosts[module] ?? []).isEmpty, "module \(module) has no host")
        }
        let used = PlacementFixtures.memoryUsed(instance, placement.hosts)
        for device in instance.devices {
            #expect((used[device.id] ?? 0) <= device.memoryBytes, "device \(device.id) over its memory")
        }
        #expect(placement.objectiveSeconds.isFinite)
    }
}
