import S2M3Core
/// A validated ``PlacementInstance`` compiled to flat integer-indexed arrays: what the cost model
/// and the solvers work on. Devices, modules and tasks keep their declaration order; the nodes of
/// every task are renumbered globally in topological order (ready nodes in declaration order,
/// `TaskGraph.topologicalOrder()`; the order a device runs a request's nodes in), so one forward pass over a task's node
/// range evaluates its critical path.
struct PlacementProblem: Sendable {
    let instance: PlacementInstance

    // Devices.
    let deviceCount: Int
    let memory: [Int]
    let speed: [Double]  // GFLOP/s
    let latency: [Double]  // seconds, one link crossing
    let secondsPerByte: [Double]
    /// Whether an output between two nodes on one device crosses the links anyway
    /// (``PlacementTransfers/viaAggregator``).
    let sameDeviceCrosses: Bool
    /// Devices with equal memory, speed and link share a class (used for symmetry breaking).
    let deviceClass: [Int]
    /// Device indices, fastest first (ties: declaration order): where local search and the replica
    /// planner look for "the fastest devices with room" without sorting per module.
    let devicesBySpeed: [Int]
    let deviceIndex: [String: Int]

    // Modules.
    let moduleCount: Int
    let moduleMemory: [Int]
    let moduleWork: [Double]  // GFLOP per invocation
    let moduleOutput: [Double]  // bytes per invocation
    /// Compute demand in GFLOP/s summed over every node that invokes the module.
    let moduleDemand: [Double]
    let moduleNodes: [[Int]]
    let moduleTasks: [[Int]]
    let moduleIndex: [String: Int]
    /// Modules some task invokes: these must be placed.
    let neededModules: [Int]

    // Tasks.
    let taskCount: Int
    /// rate × priority, normalised to sum to 1 (equal weights when every rate is 0).
    let taskWeight: [Double]
    let taskNodes: [Range<Int>]
    /// Task indices, heaviest weight first (ties: declaration order): the order the router serves
    /// tasks in, kept here so routing does not sort per call (profiled in the replica planner).
    let tasksByWeight: [Int]

    // Nodes (global, topological within each task).
    let nodeCount: Int
    let nodeModule: [Int]
    let nodeTask: [Int]
    /// Index of the node in its task's `graph.nodes`.
    let nodeLocal: [Int]
    let nodeDemand: [Double]
    let nodeIsSink: [Bool]
    let inputStart: [Int]  // inputs of node n are inputStart[n]..<inputStart[n+1]
    let inputProducer: [Int]  // global node index, or -1 for a task input
    let inputBytes: [Double]  // bytes of a task input (producer -1) or of the producer's output

    init(_ instance: PlacementInstance) throws(PlacementError) {
        try instance.validate()
        self.instance = instance

        deviceCount = instance.devices.count
        memory = instance.devices.map(\.memoryBytes)
        speed = instance.devices.map(\.gflops)
        latency = instance.devices.map { $0.link.latencyMs / 1000 }
        secondsPerByte = instance.devices.map { 8 / ($0.link.bandwidthMbps * 1_000_000) }
        sameDeviceCrosses = instance.transfers == .viaAggregator
        let speeds = instance.devices.map(\.gflops)
        devicesBySpeed = speeds.indices.sorted { speeds[$0] != speeds[$1] ? speeds[$0] > speeds[$1] : $0 < $1 }
        var classes: [String: Int] = [:]
        deviceClass = instance.devices.map { device in
            let key = "\(device.memoryBytes)|\(device.gflops)|\(device.link.bandwidthMbps)|\(device.link.latencyMs)"
            if let known = classes[key] { return known }
            classes[key] = classes.count
            return classes.count - 1
        }
        deviceIndex = Dictionary(uniqueKeysWithValues: instance.devices.enumerated().map { ($1.id, $0) })

        moduleCount = instance.modules.count
        moduleMemory = instance.modules.map(\.memoryBytes)
        moduleWork = instance.modules.map(\.gflop)
        moduleOutput = instance.modules.map { Double($0.outputBytes) }
        let moduleIndex = Dictionary(uniqueKeysWithValues: instance.modules.enumerated().map { ($1.id, $0) })
        self.moduleIndex = moduleIndex

        taskCount = instance.tasks.count
        let weights = instance.tasks.map(\.weight)
        let total = weights.reduce(0, +)
        let taskWeight = total > 0 ? weights.map { $0 / total } : weights.map { _ in 1 / Double(weights.count) }
        self.taskWeight = taskWeight
        tasksByWeight = taskWeight.indices.sorted { taskWeight[$0] != taskWeight[$1] ? taskWeight[$0] > taskWeight[$1] : $0 < $1 }

        var taskNodes: [Range<Int>] = []
        var nodeModule: [Int] = [], nodeTask: [Int] = [], nodeLocal: [Int] = [], nodeDemand: [Double] = []
        var nodeIsSink: [Bool] = [], inputStart: [Int] = [0], inputProducer: [Int] = [], inputBytes: [Double] = []
        var moduleNodes = [[Int]](repeating: [], count: instance.modules.count)
        var moduleTasks = [[Int]](repeating: [], count: instance.modules.count)
        var demand = [Double](repeating: 0, count: instance.modules.count)
        for (taskIndex, task) in instance.tasks.enumerated() {
            let graph = task.graph
            let order: [Int]
            let sources: [[TaskGraph.Source]]
            let sinks: Set<Int>
            do {
                order = try graph.topologicalOrder()
                sources = try graph.resolvedSources()
                sinks = Set(try graph.sinkIndices())
            } catch {
                throw PlacementError(.invalidTaskGraph, "task '\(task.id)': \(error.message)")
            }
            let base = nodeModule.count
            var global = [Int](repeating: 0, count: graph.nodes.count)
            for (position, local) in order.enumerated() { global[local] = base + position }
            for local in order {
                let node = graph.nodes[local]
                // Validation guarantees the module exists.
                let module = moduleIndex[node.module] ?? 0
                let n = nodeModule.count
                nodeModule.append(module)
                nodeTask.append(taskIndex)
                nodeLocal.append(local)
                nodeDemand.append(task.rate * instance.modules[module].gflop)
                nodeIsSink.append(sinks.contains(local))
                demand[module] += task.rate * instance.modules[module].gflop
                moduleNodes[module].append(n)
                if moduleTasks[module].last != taskIndex { moduleTasks[module].append(taskIndex) }
                for source in sources[local] {
                    switch source {
                    case .input(let index):
                        inputProducer.append(-1)
                        inputBytes.append(Double(graph.inputs[index].bytes))
                    case .node(let producer):
                        let producerModule = moduleIndex[graph.nodes[producer].module] ?? 0
                        inputProducer.append(global[producer])
                        inputBytes.append(Double(instance.modules[producerModule].outputBytes))
                    }
                }
                inputStart.append(inputProducer.count)
            }
            taskNodes.append(base..<nodeModule.count)
        }
        self.taskNodes = taskNodes
        self.nodeModule = nodeModule
        self.nodeTask = nodeTask
        self.nodeLocal = nodeLocal
        self.nodeDemand = nodeDemand
        self.nodeIsSink = nodeIsSink
        self.inputStart = inputStart
        self.inputProducer = inputProducer
        self.inputBytes = inputBytes
        self.moduleNodes = moduleNodes
        self.moduleTasks = moduleTasks
        self.moduleDemand = demand
        nodeCount = nodeModule.count
        neededModules = (0..<instance.modules.count).filter { !moduleNodes[$0].isEmpty }
    }

    /// Seconds to cross device `d`'s link once with `bytes`.
    @inline(__always)
    func leg(_ d: Int, _ bytes: Double) -> Double {
        latency[d] + bytes * secondsPerByte[d]
    }

    /// Compute seconds of module `m` on device `d` under demand `load` (GFLOP/s), or +∞ when the
    /// device would be saturated. Queueing is modelled as M/M/1: service time / (1 − utilisation).
    @inline(__always)
    func computeSeconds(_ m: Int, on d: Int, load: Double) -> Double {
        let utilisation = load / speed[d]
        if utilisation >= 1 { return .infinity }
        return moduleWork[m] / speed[d] / (1 - utilisation)
    }

    /// Human-readable byte count (for messages and reports).
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1000 && unit < units.count - 1 {
            amount /= 1000
            unit += 1
        }
        return unit == 0 ? "\(value) B" : "\(PlacementProblem.decimal(amount, places: amount < 10 ? 2 : 1)) \(units[unit])"
    }
}

extension PlacementProblem {
    /// Formats a number with a fixed number of decimals without Foundation's locale machinery.
    static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return value > 0 ? "inf" : (value < 0 ? "-inf" : "nan") }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int(rounded / scale)
        let fraction = Int(rounded - Double(whole) * scale)
        let sign = value < 0 && rounded > 0 ? "-" : ""
        if places == 0 { return "\(sign)\(whole)" }
        var digits = String(fraction)
        while digits.count < places { digits = "0" + digits }
        return "\(sign)\(whole).\(digits)"
    }
}
