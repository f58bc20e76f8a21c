import PlacementPlanning
import S2M3Core
/// Seeded random placement instances shaped like the paper's setting: a handful of heterogeneous
/// devices, multi-modal tasks as small DAGs (encoders reading the request, then heads reading the
/// encoders), modules shared between tasks, memory tight enough that placement matters.
///
/// Same seed, same instance (``SplitMix64``; sizes drawn log-uniformly go through the C library's
/// `log`/`exp`, so a platform whose libm rounds differently could shift a last digit).
public struct RandomPlacementInstances: Sendable {
    public var devices: ClosedRange<Int>
    public var modules: ClosedRange<Int>
    public var tasks: ClosedRange<Int>
    public var nodesPerTask: ClosedRange<Int>
    /// Total device memory over total module memory, drawn from this range.
    public var memorySlack: ClosedRange<Double>
    /// Total compute demand over total device speed, at most.
    public var utilisation: Double
    /// Bytes of one module output (log-uniform).
    public var outputBytes: ClosedRange<Double> = 1e3...2e6
    /// Bytes of one request input (log-uniform).
    public var inputBytes: ClosedRange<Double> = 1e3...1e6
    /// Link bandwidth in Mbit/s (log-uniform) and latency in ms (uniform).
    public var bandwidthMbps: ClosedRange<Double> = 100...1000
    public var latencyMs: ClosedRange<Double> = 0.5...5

    public init(
        devices: ClosedRange<Int>, modules: ClosedRange<Int>, tasks: ClosedRange<Int>,
        nodesPerTask: ClosedRange<Int> = 2...6, memorySlack: ClosedRange<Double> = 1.2...2.0, utilisation: Double = 0.3
    ) {
        self.devices = devices
        self.modules = modules
        self.tasks = tasks
        self.nodesPerTask = nodesPerTask
        self.memorySlack = memorySlack
        self.utilisation = utilisation
    }

    /// The sizes of the paper's evaluation: 2–6 devices, 4–20 modules, 2–5 tasks, light load
    /// (demand at most 5 % of the devices' compute, so queueing barely matters, as in the paper's
    /// static model).
    public static let paperScale = RandomPlacementInstances(devices: 2...6, modules: 4...20, tasks: 2...5, utilisation: 0.05)

    /// The paper's sizes and its assumption that communication is cheap: small outputs (1–16 KB)
    /// and inputs (1–100 KB) on gigabit links, light load.
    public static let paperAssumptions: RandomPlacementInstances = {
        var generator = RandomPlacementInstances(devices: 2...6, modules: 4...20, tasks: 2...5, utilisation: 0.05)
        generator.outputBytes = 1e3...16e3
        generator.inputBytes = 1e3...1e5
        generator.bandwidthMbps = 1000...1000
        generator.latencyMs = 0.5...2
        return generator
    }()

    /// The paper's sizes under load: demand up to 30 % of the devices' compute, so where modules
    /// share a device their queueing matters.
    public static let paperScaleLoaded = RandomPlacementInstances(devices: 2...6, modules: 4...20, tasks: 2...5, utilisation: 0.3)

    /// An instance of exactly `modules` modules on `devices` devices (tasks ≈ modules / 4).
    public static func scaled(modules: Int, devices: Int) -> RandomPlacementInstances {
        let tasks = max(1, modules / 4)
        return RandomPlacementInstances(
            devices: devices...devices, modules: modules...modules, tasks: tasks...tasks, nodesPerTask: 2...8)
    }

    public func generate(seed: UInt64) -> PlacementInstance {
        var random = SplitMix64(seed: seed)
        let deviceCount = random.int(in: devices)
        let moduleCount = random.int(in: modules)
        let taskCount = random.int(in: tasks)

        var moduleList: [PlacementModule] = []
        for index in 0..<moduleCount {
            moduleList.append(
                PlacementModule(
                    id: "m\(index)", memoryBytes: Int(random.logUniform(50e6, 4e9)),
                    gflop: (random.logUniform(0.5, 400) * 100).rounded() / 100,
                    outputBytes: Int(random.logUniform(outputBytes.lowerBound, outputBytes.upperBound))))
        }

        // Tasks: the first nodes read request inputs, later nodes read one or two earlier nodes.
        var taskList: [PlacementTask] = []
        var used = [Bool](repeating: false, count: moduleCount)
        for t in 0..<taskCount {
            let inputCount = random.int(in: 1...2)
            let inputs = (0..<inputCount).map {
                TaskGraph.Input(id: "in\($0)", bytes: Int(random.logUniform(inputBytes.lowerBound, inputBytes.upperBound)))
            }
            let size = min(random.int(in: nodesPerTask), moduleCount)
            var picked: [Int] = []
            while picked.count < size {
                let m = random.int(in: 0...(moduleCount - 1))
                if !picked.contains(m) { picked.append(m) }
            }
            var nodes: [TaskNode] = []
            for (position, m) in picked.enumerated() {
                used[m] = true
                var reads: [String]
                if position == 0 || (position < 3 && random.unit() < 0.5) {
                    reads = [inputs[random.int(in: 0...(inputCount - 1))].id]
                } else {
                    reads = ["n\(random.int(in: 0...(position - 1)))"]
                    if position >= 2 && random.unit() < 0.5 {
                        let other = "n\(random.int(in: 0...(position - 1)))"
                        if !reads.contains(other) { reads.append(other) }
                    }
                }
                nodes.append(TaskNode(id: "n\(position)", module: "m\(m)", inputs: reads))
            }
            taskList.append(
                PlacementTask(
                    id: "t\(t)", rate: (random.logUniform(0.2, 5) * 100).rounded() / 100,
                    graph: TaskGraph(inputs: inputs, nodes: nodes)))
        }
        // Every module serves some task: attach the unused ones to a random task, reading its last node.
        for m in 0..<moduleCount where !used[m] {
            let t = random.int(in: 0...(taskCount - 1))
            let count = taskList[t].graph.nodes.count
            taskList[t].graph.nodes.append(TaskNode(id: "n\(count)", module: "m\(m)", inputs: ["n\(count - 1)"]))
        }

        var deviceList: [PlacementDevice] = []
        for index in 0..<deviceCount {
            deviceList.append(
                PlacementDevice(
                    id: "d\(index)", memoryBytes: Int(random.logUniform(2e9, 16e9)),
                    gflops: (random.logUniform(100, 2000)).rounded(),
                    link: PlacementLink(
                        bandwidthMbps: random.logUniform(bandwidthMbps.lowerBound, bandwidthMbps.upperBound).rounded(),
                        latencyMs: (random.uniform(latencyMs.lowerBound, latencyMs.upperBound) * 10).rounded() / 10)))
        }
        // Memory: scale devices so the total has the drawn slack and the largest module fits.
        let needed = Double(moduleList.reduce(0) { $0 + $1.memoryBytes })
        let have = Double(deviceList.reduce(0) { $0 + $1.memoryBytes })
        let slack = random.uniform(memorySlack.lowerBound, memorySlack.upperBound)
        for index in deviceList.indices {
            deviceList[index].memoryBytes = Int(Double(deviceList[index].memoryBytes) * slack * needed / have)
        }
        let largestModule = moduleList.map(\.memoryBytes).max() ?? 0
        if let biggest = deviceList.indices.max(by: { deviceList[$0].memoryBytes < deviceList[$1].memoryBytes }),
            deviceList[biggest].memoryBytes < largestModule
        {
            deviceList[biggest].memoryBytes = largestModule
        }
        // Compute: scale rates so demand stays at most the target share of all devices' speed.
        let work = Dictionary(uniqueKeysWithValues: moduleList.map { ($0.id, $0.gflop) })
        func demands() -> [Double] {
            var demand = [Double](repeating: 0, count: moduleCount)
            for task in taskList {
                for node in task.graph.nodes {
                    if let index = Int(node.module.dropFirst()) { demand[index] += task.rate * (work[node.module] ?? 0) }
                }
            }
            return demand
        }
        let modulesByID = Dictionary(uniqueKeysWithValues: moduleList.map { ($0.id, $0.gflop) })
        let demand = taskList.reduce(0.0) { sum, task in
            sum + task.rate * task.graph.nodes.reduce(0.0) { $0 + (modulesByID[$1.module] ?? 0) }
        }
        let capacity = deviceList.reduce(0.0) { $0 + $1.gflops }
        if demand > utilisation * capacity {
            let factor = utilisation * capacity / demand
            for index in taskList.indices { taskList[index].rate = taskList[index].rate * factor }
        }
        // Feasible by construction: grow memory (or lower the rates) until a simple packing exists.
        for _ in 0..<100 {
            switch Self.witness(devices: deviceList, modules: moduleList, demand: demands()) {
            case .fits:
                return PlacementInstance(devices: deviceList, modules: moduleList, tasks: taskList)
            case .memory:
                for index in deviceList.indices { deviceList[index].memoryBytes = deviceList[index].memoryBytes / 10 * 11 }
            case .compute:
                for index in taskList.indices { taskList[index].rate *= 0.8 }
            }
        }
        return PlacementInstance(devices: deviceList, modules: moduleList, tasks: taskList)
    }

    private enum Witness { case fits, memory, compute }

    /// First-fit-decreasing by memory onto the device with the most room that stays unsaturated.
    private static func witness(devices: [PlacementDevice], modules: [PlacementModule], demand: [Double]) -> Witness {
        var room = devices.map(\.memoryBytes)
        var spare = devices.map(\.gflops)
        for m in modules.indices.sorted(by: { modules[$0].memoryBytes > modules[$1].memoryBytes }) {
            let fitting = devices.indices.filter { room[$0] >= modules[m].memoryBytes }
            if fitting.isEmpty { return .memory }
            let serving = fitting.filter { spare[$0] > demand[m] }
            guard let d = serving.max(by: { room[$0] < room[$1] }) else { return .compute }
            room[d] -= modules[m].memoryBytes
            spare[d] -= demand[m]
        }
        return .fits
    }
}
