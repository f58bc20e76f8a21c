import S2M3Core
/// Why the greedy rule (or the memory-first packing) could not place a module.
struct PlacementFailure: Sendable {
    let module: Int
    let message: String
}

extension PlacementSearchState {
    /// Free modules in the greedy order: compute per invocation first (largest first), then memory
    /// (largest first), then declaration order.
    func greedyOrder() -> [Int] {
        problem.neededModules.filter { fixedHosts[$0].isEmpty }.sorted { a, b in
            if problem.moduleWork[a] != problem.moduleWork[b] { return problem.moduleWork[a] > problem.moduleWork[b] }
            if problem.moduleMemory[a] != problem.moduleMemory[b] { return problem.moduleMemory[a] > problem.moduleMemory[b] }
            return a < b
        }
    }

    /// The paper's rule: each module in `order` goes to the device with room (memory, and compute
    /// below saturation) where the predicted latency of what is placed so far is lowest; ties go to
    /// the device declared first. Nodes not placed yet count as free (zero time), so the choice
    /// sees exactly what is placed so far. Leaves the state in exact mode on success.
    mutating func runGreedy(order: [Int]) -> PlacementFailure? {
        mode = .placedSoFar
        usesMemo = false
        defer { usesMemo = true }
        recomputeAll()
        for m in order {
            var best = -1
            var bestDelta = Double.infinity
            for d in 0..<problem.deviceCount where fits(m, on: d) {
                let delta = moveDelta(m, to: d)
                if best < 0 || delta < bestDelta {
                    best = d
                    bestDelta = delta
                }
            }
            guard best >= 0 else { return failure(placing: m, after: "the larger modules") }
            applyMove(m, to: best)
        }
        recomputeAll()
        return nil
    }

    /// Fallback packing when the greedy rule strands a module: largest memory first, each on the
    /// device it fills most tightly (best fit), or, if that strands one too, on the device with the
    /// most room left (worst fit, which also spreads compute). Finds a feasible start for local
    /// search where the latency-driven rule fragments memory.
    mutating func runMemoryFirst(modules: [Int]) -> PlacementFailure? {
        let order = modules.sorted { a, b in
            problem.moduleMemory[a] != problem.moduleMemory[b] ? problem.moduleMemory[a] > problem.moduleMemory[b] : a < b
        }
        var firstFailure: PlacementFailure?
        for tightest in [true, false] {
            for m in modules where assignment[m] >= 0 { unplace(m) }
            var stranded: Int?
            for m in order {
                var best = -1
                for d in 0..<problem.deviceCount where fits(m, on: d) {
                    let room = problem.memory[d] - memoryUsed[d]
                    let bestRoom = best < 0 ? 0 : problem.memory[best] - memoryUsed[best]
                    if best < 0 || (tightest ? room < bestRoom : room > bestRoom) { best = d }
                }
                guard best >= 0 else {
                    stranded = m
                    break
                }
                place(m, on: best)
            }
            if let stranded {
                if firstFailure == nil { firstFailure = failure(placing: stranded, after: "the larger modules (memory-first packing)") }
                continue
            }
            mode = .placedSoFar
            recomputeAll()
            return nil
        }
        return firstFailure
    }

    /// A message naming the module that does not fit and the free memory everywhere.
    func failure(placing m: Int, after what: String) -> PlacementFailure {
        let module = problem.instance.modules[m]
        let free = (0..<problem.deviceCount).map { d in
            let device = problem.instance.devices[d]
            let room = PlacementProblem.bytes(max(0, problem.memory[d] - memoryUsed[d]))
            let busy = load[d] + problem.moduleDemand[m] >= problem.speed[d] ? ", compute saturated" : ""
            return "\(device.id) \(room) free of \(PlacementProblem.bytes(problem.memory[d]))\(busy)"
        }
        let message =
            "module '\(module.id)' (\(PlacementProblem.bytes(module.memoryBytes)), "
            + "\(PlacementProblem.decimal(problem.moduleDemand[m], places: 2)) GFLOP/s demanded) fits on no device after "
            + "\(what) were placed: \(free.joined(separator: "; ")). Add memory or a device, or remove a task."
        return PlacementFailure(module: m, message: message)
    }
}
