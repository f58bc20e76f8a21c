import S2M3Core
extension PlacementInstance {
    /// What ``validate()`` accepts besides the format's rules (docs/placement.md, "Bounds"). With
    /// these every sum the solver forms (memory over all devices or modules, the sharing report's
    /// memory over models × modules) fits in 64 bits, and every latency and objective is finite.
    public enum Bounds {
        public static let maxDevices = 4096
        public static let maxModules = 4096
        public static let maxTasks = 4096
        public static let maxModels = 1024
        /// Nodes of one task graph.
        public static let maxNodesPerTask = 10_000
        /// Memory, output and input sizes, bytes (``ValueRange/bytes``).
        public static let bytes = ValueRange.bytes
        /// Device speed, GFLOP/s (``ValueRange/gflops``).
        public static let gflops = ValueRange.gflops
        /// Module compute per invocation, GFLOP.
        public static let gflop: ClosedRange<Double> = 0...1e9
        public static let bandwidthMbps: ClosedRange<Double> = 1e-6...1e9
        public static let latencyMs: ClosedRange<Double> = 0...1e7
        /// Requests per second of one task.
        public static let rate: ClosedRange<Double> = 0...1e6
        public static let priority: ClosedRange<Double> = 1e-6...1e6
    }

    /// Checks every rule of the instance format; throws the first violation with a message saying
    /// which entry is wrong and what to fix. The solver calls this before anything else.
    public func validate() throws(PlacementError) {
        if devices.isEmpty {
            throw PlacementError(.emptyInstance, "the instance has no devices: add at least one entry to 'devices'")
        }
        if tasks.isEmpty {
            throw PlacementError(.emptyInstance, "the instance has no tasks: add at least one entry to 'tasks'")
        }
        try Self.checkCount(devices.count, Bounds.maxDevices, "devices")
        try Self.checkCount(modules.count, Bounds.maxModules, "modules")
        try Self.checkCount(tasks.count, Bounds.maxTasks, "tasks")
        try Self.checkCount(models.count, Bounds.maxModels, "models")
        for task in tasks {
            try Self.checkCount(task.graph.nodes.count, Bounds.maxNodesPerTask, "nodes of task '\(task.id)'")
        }
        try Self.checkUnique(devices.map(\.id), kind: "device")
        try Self.checkUnique(modules.map(\.id), kind: "module")
        try Self.checkUnique(tasks.map(\.id), kind: "task")
        try Self.checkUnique(models.map(\.id), kind: "model")

        for device in devices {
            let at = "device '\(device.id)'"
            try Self.check(device.memoryBytes, Bounds.bytes, at, "memoryBytes")
            try Self.check(device.gflops, Bounds.gflops, at, "gflops")
            try Self.check(device.link.bandwidthMbps, Bounds.bandwidthMbps, at, "link.bandwidthMbps")
            try Self.check(device.link.latencyMs, Bounds.latencyMs, at, "link.latencyMs")
        }
        var moduleIDs = Set<String>()
        for module in modules {
            let at = "module '\(module.id)'"
            try Self.check(module.memoryBytes, Bounds.bytes, at, "memoryBytes")
            try Self.check(module.gflop, Bounds.gflop, at, "gflop")
            try Self.check(module.outputBytes, Bounds.bytes, at, "outputBytes")
            if let parameters = module.parameters {
                try Self.check(parameters, Bounds.bytes, at, "parameters")
            }
            moduleIDs.insert(module.id)
        }
        for task in tasks {
            let at = "task '\(task.id)'"
            try Self.check(task.rate, Bounds.rate, at, "rate (requests per second)")
            try Self.check(task.priority, Bounds.priority, at, "priority")
            for input in task.graph.inputs {
                try Self.check(input.bytes, Bounds.bytes, at, "input '\(input.id)' bytes")
            }
            do {
                try task.graph.validate()
            } catch {
                throw PlacementError(.invalidTaskGraph, "\(at): \(error.message)")
            }
            for node in task.graph.nodes where !moduleIDs.contains(node.module) {
                throw PlacementError(
                    .unknownModule,
                    "\(at), node '\(node.id)': module '\(node.module)' is not declared in 'modules'")
            }
        }
        for model in models {
            for module in model.modules where !moduleIDs.contains(module) {
                throw PlacementError(
                    .unknownModule, "model '\(model.id)': module '\(module)' is not declared in 'modules'")
            }
        }
    }

    private static func checkUnique(_ ids: [String], kind: String) throws(PlacementError) {
        var seen = Set<String>()
        for (index, id) in ids.enumerated() {
            if id.isEmpty {
                throw PlacementError(.invalidValue, "\(kind) \(index) has an empty id")
            }
            if !seen.insert(id).inserted {
                throw PlacementError(.duplicateID, "\(kind) id '\(id)' is declared more than once")
            }
        }
    }

    private static func check(_ value: Int, _ range: ClosedRange<Int>, _ at: String, _ field: String) throws(PlacementError) {
        if !range.contains(value) {
            throw PlacementError(.invalidValue, "\(at): \(field) must be in \(range.lowerBound)…\(range.upperBound) (got \(value))")
        }
    }

    private static func check(_ value: Double, _ range: ClosedRange<Double>, _ at: String, _ field: String) throws(PlacementError) {
        if !(value.isFinite && range.contains(value)) {
            throw PlacementError(
                .invalidValue, "\(at): \(field) must be a finite number in \(range.lowerBound)…\(range.upperBound) (got \(value))")
        }
    }

    private static func checkCount(_ count: Int, _ limit: Int, _ what: String) throws(PlacementError) {
        if count > limit {
            throw PlacementError(.invalidValue, "the instance has \(count) \(what); at most \(limit) are allowed")
        }
    }
}
