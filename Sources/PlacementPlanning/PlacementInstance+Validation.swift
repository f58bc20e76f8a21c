import S2M3Core
extension PlacementInstance {
    /// Checks every rule of the instance format; throws the first violation with a message saying
    /// which entry is wrong and what to fix. The solver calls this before anything else.
    public func validate() throws(PlacementError) {
        if devices.isEmpty {
            throw PlacementError(.emptyInstance, "the instance has no devices: add at least one entry to 'devices'")
        }
        if tasks.isEmpty {
            throw PlacementError(.emptyInstance, "the instance has no tasks: add at least one entry to 'tasks'")
        }
        try Self.checkUnique(devices.map(\.id), kind: "device")
        try Self.checkUnique(modules.map(\.id), kind: "module")
        try Self.checkUnique(tasks.map(\.id), kind: "task")
        try Self.checkUnique(models.map(\.id), kind: "model")

        for device in devices {
            let at = "device '\(device.id)'"
            try Self.check(device.memoryBytes >= 0, at, "memoryBytes must be ≥ 0 (got \(device.memoryBytes))")
            try Self.check(
                device.gflops.isFinite && device.gflops > 0, at, "gflops must be a positive number (got \(device.gflops))")
            try Self.check(
                device.link.bandwidthMbps.isFinite && device.link.bandwidthMbps > 0, at,
                "link.bandwidthMbps must be a positive number (got \(device.link.bandwidthMbps))")
            try Self.check(
                device.link.latencyMs.isFinite && device.link.latencyMs >= 0, at,
                "link.latencyMs must be ≥ 0 (got \(device.link.latencyMs))")
        }
        var moduleIDs = Set<String>()
        for module in modules {
            let at = "module '\(module.id)'"
            try Self.check(module.memoryBytes >= 0, at, "memoryBytes must be ≥ 0 (got \(module.memoryBytes))")
            try Self.check(module.gflop.isFinite && module.gflop >= 0, at, "gflop must be ≥ 0 (got \(module.gflop))")
            try Self.check(module.outputBytes >= 0, at, "outputBytes must be ≥ 0 (got \(module.outputBytes))")
            if let parameters = module.parameters {
                try Self.check(parameters >= 0, at, "parameters must be ≥ 0 (got \(parameters))")
            }
            moduleIDs.insert(module.id)
        }
        for task in tasks {
            let at = "task '\(task.id)'"
            try Self.check(task.rate.isFinite && task.rate >= 0, at, "rate must be ≥ 0 requests per second (got \(task.rate))")
            try Self.check(
                task.priority.isFinite && task.priority > 0, at, "priority must be a positive number (got \(task.priority))")
            for input in task.graph.inputs {
                try Self.check(input.bytes >= 0, at, "input '\(input.id)' bytes must be ≥ 0 (got \(input.bytes))")
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

    private static func check(_ condition: Bool, _ at: String, _ message: String) throws(PlacementError) {
        if !condition { throw PlacementError(.invalidValue, "\(at): \(message)") }
    }
}
