@testable import PlacementPlanning
import S2M3Core

/// Small builders for placement tests (no I/O).
enum PlacementFixtures {
    static func device(_ id: String, memory: Int = 1_000_000_000, gflops: Double = 100, mbps: Double = 1000, ms: Double = 1)
        -> PlacementDevice
    {
        PlacementDevice(id: id, memoryBytes: memory, gflops: gflops, link: PlacementLink(bandwidthMbps: mbps, latencyMs: ms))
    }

    static func module(_ id: String, memory: Int = 100_000_000, gflop: Double = 1, output: Int = 1000) -> PlacementModule {
        PlacementModule(id: id, memoryBytes: memory, gflop: gflop, outputBytes: output)
    }

    static func task(
        _ id: String, rate: Double = 1, priority: Double = 1, inputs: [(String, Int)] = [("in", 0)],
        _ nodes: [(String, String, [String])]
    ) -> PlacementTask {
        PlacementTask(
            id: id, rate: rate, priority: priority,
            graph: TaskGraph(
                inputs: inputs.map { TaskGraph.Input(id: $0.0, bytes: $0.1) },
                nodes: nodes.map { TaskNode(id: $0.0, module: $0.1, inputs: $0.2) }))
    }

    /// Memory used per device id, computed from the instance and the hosts alone.
    static func memoryUsed(_ instance: PlacementInstance, _ hosts: [String: [String]]) -> [String: Int] {
        var used: [String: Int] = [:]
        for module in instance.modules {
            for device in hosts[module.id] ?? [] { used[device, default: 0] += module.memoryBytes }
        }
        return used
    }

    /// Ids of modules some task invokes.
    static func neededModules(_ instance: PlacementInstance) -> Set<String> {
        Set(instance.tasks.flatMap { $0.graph.nodes.map(\.module) })
    }

    /// The best single-copy objective by trying every assignment (tiny instances only), or nil when
    /// none fits.
    static func bruteForceOptimum(_ instance: PlacementInstance) throws -> Double? {
        let model = try CostModel(instance)
        let modules = instance.modules.filter { neededModules(instance).contains($0.id) }
        let devices = instance.devices
        var best: Double?
        var choice = [Int](repeating: 0, count: modules.count)
        while true {
            var hosts: [String: [String]] = [:]
            var used = [Int](repeating: 0, count: devices.count)
            for (index, module) in modules.enumerated() {
                hosts[module.id] = [devices[choice[index]].id]
                used[choice[index]] += module.memoryBytes
            }
            if zip(used, devices).allSatisfy({ $0 <= $1.memoryBytes }) {
                let objective = try model.evaluate(hosts: hosts).objectiveSeconds
                if objective.isFinite && (best == nil || objective < best!) { best = objective }
            }
            // Next assignment (odometer).
            var position = 0
            while position < choice.count {
                choice[position] += 1
                if choice[position] < devices.count { break }
                choice[position] = 0
                position += 1
            }
            if position == choice.count { return best }
        }
    }
}
