import S2M3Core
extension PlacementSearchState {
    /// Improves a complete placement by moves (one free module to another device) and swaps (two
    /// free modules exchange devices, tried where a better device lacks the memory), best
    /// improvement per module, in `order`, until a pass changes nothing, `evaluationLimit` task
    /// evaluations are spent or `deadline` passes (checked before every move or swap evaluated; the
    /// placement stays complete and feasible). Deterministic unless the deadline cuts it. Returns
    /// the number of changes made.
    ///
    /// With many devices only a subset is tried per module: the devices of the module's data-flow
    /// neighbours and the `breadth` fastest devices with room.
    @discardableResult
    mutating func improveLocally(
        order: [Int], evaluationLimit: Int, deadline: PlacementDeadline = PlacementDeadline(nil), breadth: Int = 12
    ) -> Int {
        mode = .placedSoFar
        recomputeAll()
        let start = evaluations
        var changes = 0
        var improved = true
        search: while improved && evaluations - start < evaluationLimit {
            improved = false
            for m in order where assignment[m] >= 0 {
                if evaluations - start >= evaluationLimit { break }
                if deadline.passed() { break search }
                let current = assignment[m]
                let tolerance = -1e-12 * max(1, objective)
                var bestDelta = tolerance
                var bestDevice = -1
                var bestPartner = -1
                var blocked: [(device: Int, delta: Double)] = []
                for d in candidates(for: m, breadth: breadth) where d != current {
                    guard problem.moduleDemand[m] + load[d] < problem.speed[d] else { continue }
                    if deadline.passed() { break search }
                    let delta = moveDelta(m, to: d)
                    guard delta < bestDelta else { continue }
                    if fits(m, on: d) {
                        bestDelta = delta
                        bestDevice = d
                        bestPartner = -1
                    } else {
                        blocked.append((d, delta))
                    }
                }
                for (d, moveGain) in blocked where moveGain < bestDelta {
                    for b in deviceModules[d] where fixedHosts[b].isEmpty && assignment[b] == d {
                        let freedHere = problem.moduleMemory[b]
                        guard fits(m, on: d, freed: freedHere, shed: problem.moduleDemand[b]),
                            fits(b, on: current, freed: problem.moduleMemory[m], shed: problem.moduleDemand[m])
                        else { continue }
                        if deadline.passed() { break search }
                        let delta = swapDelta(m, b)
                        if delta < bestDelta {
                            bestDelta = delta
                            bestDevice = d
                            bestPartner = b
                        }
                    }
                }
                if bestDevice >= 0 {
                    if bestPartner >= 0 { applySwap(m, bestPartner) } else { applyMove(m, to: bestDevice) }
                    changes += 1
                    improved = true
                }
            }
        }
        recomputeAll()
        return changes
    }

    /// Devices worth trying for `m`: all of them when there are few; otherwise the devices of its
    /// data-flow neighbours plus the fastest devices with room, in device order.
    func candidates(for m: Int, breadth: Int) -> [Int] {
        if problem.deviceCount <= breadth * 2 { return Array(0..<problem.deviceCount) }
        // A few dozen devices at most: a linear scan dedupes them cheaper than a Set (profiled).
        var chosen: [Int] = []
        func choose(_ d: Int) { if !chosen.contains(d) { chosen.append(d) } }
        for n in problem.moduleNodes[m] {
            for k in problem.inputStart[n]..<problem.inputStart[n + 1] where problem.inputProducer[k] >= 0 {
                let d = route[problem.inputProducer[k]]
                if d >= 0 { choose(d) }
            }
        }
        // Consumers: nodes in the same task that read one of m's nodes.
        for t in problem.moduleTasks[m] {
            for n in problem.taskNodes[t] {
                for k in problem.inputStart[n]..<problem.inputStart[n + 1] {
                    let producer = problem.inputProducer[k]
                    if producer >= 0 && problem.nodeModule[producer] == m && route[n] >= 0 { choose(route[n]) }
                }
            }
        }
        // The `breadth` fastest devices with room (profiled: sorting every device per module, with
        // a comparator that copied this state, was a tenth of auto's time at 1,000 × 200).
        var taken = 0
        for d in problem.devicesBySpeed {
            if taken == breadth { break }
            if fits(m, on: d) {
                choose(d)
                taken += 1
            }
        }
        chosen.sort()
        return chosen
    }
}
