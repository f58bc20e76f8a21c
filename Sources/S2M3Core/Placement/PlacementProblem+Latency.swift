/// What the cost model assumes for a node whose device is not decided yet.
///
/// The greedy rule uses ``zero`` (only what is placed so far counts); branch and bound uses
/// ``PlacementProblem/lowerBounds(hostSets:)`` (the best any device could do), which never
/// overestimates, so pruning on it is safe.
struct UnplacedEstimate: Sendable {
    var compute: [Double]
    var legLatency: [Double]
    var legSecondsPerByte: [Double]

    static func zero(moduleCount: Int) -> UnplacedEstimate {
        let zeros = [Double](repeating: 0, count: moduleCount)
        return UnplacedEstimate(compute: zeros, legLatency: zeros, legSecondsPerByte: zeros)
    }
}

extension PlacementProblem {
    /// Per module, the least compute time and link cost over the devices it could use: its fixed
    /// hosts when `hostSets[m]` is non-empty, otherwise every device whose memory could hold it.
    func lowerBounds(hostSets: [[Int]]) -> UnplacedEstimate {
        var estimate = UnplacedEstimate.zero(moduleCount: moduleCount)
        for m in 0..<moduleCount {
            let candidates =
                hostSets[m].isEmpty
                ? (0..<deviceCount).filter { memory[$0] >= moduleMemory[m] } : hostSets[m]
            guard !candidates.isEmpty else { continue }
            estimate.compute[m] = candidates.map { moduleWork[m] / speed[$0] }.min() ?? 0
            estimate.legLatency[m] = candidates.map { latency[$0] }.min() ?? 0
            estimate.legSecondsPerByte[m] = candidates.map { secondsPerByte[$0] }.min() ?? 0
        }
        return estimate
    }

    /// The critical-path latency of task `t`: every node starts when its slowest input has arrived
    /// (a task input crosses the node device's link once; another node's output crosses the
    /// producer's and the consumer's links unless both share a device) and then computes; the task
    /// ends when the last result has crossed its device's link back to the broker.
    ///
    /// Nodes with `route[n] < 0` are not placed: they use `unplaced`, and transfers to or from them
    /// count as free. Returns +∞ when a used device is saturated. `finish` is scratch space indexed
    /// by global node.
    func taskLatency(
        _ t: Int, route: [Int], load: [Double], unplaced: UnplacedEstimate, finish: inout [Double]
    ) -> Double {
        var result = 0.0
        for n in taskNodes[t] {
            let d = route[n]
            let m = nodeModule[n]
            var ready = 0.0
            for k in inputStart[n]..<inputStart[n + 1] {
                let producer = inputProducer[k]
                let bytes = inputBytes[k]
                var arrival: Double
                if producer < 0 {
                    arrival =
                        d >= 0 ? latency[d] + bytes * secondsPerByte[d]
                        : unplaced.legLatency[m] + bytes * unplaced.legSecondsPerByte[m]
                } else {
                    arrival = finish[producer]
                    let from = route[producer]
                    if d >= 0 && from >= 0 && from != d {
                        arrival += latency[from] + latency[d] + bytes * (secondsPerByte[from] + secondsPerByte[d])
                    }
                }
                if arrival > ready { ready = arrival }
            }
            let compute: Double
            if d >= 0 {
                let utilisation = load[d] / speed[d]
                if utilisation >= 1 { return .infinity }
                compute = moduleWork[m] / speed[d] / (1 - utilisation)
            } else {
                compute = unplaced.compute[m]
            }
            let done = ready + compute
            finish[n] = done
            if nodeIsSink[n] {
                let back =
                    d >= 0 ? latency[d] + moduleOutput[m] * secondsPerByte[d]
                    : unplaced.legLatency[m] + moduleOutput[m] * unplaced.legSecondsPerByte[m]
                if done + back > result { result = done + back }
            }
        }
        return result
    }

    /// Routes every node over its module's hosts; returns the route per node and the resulting
    /// compute demand per device.
    ///
    /// Nodes of single-host modules go to that host. The others are routed task by task (heaviest
    /// task first, then declaration order), in topological order, each to the host where it would
    /// finish first given the load routed so far. Deterministic.
    func route(hosts: [[Int]]) -> (route: [Int], load: [Double]) {
        var route = [Int](repeating: -1, count: nodeCount)
        var load = [Double](repeating: 0, count: deviceCount)
        var multiHost = false
        for n in 0..<nodeCount {
            let candidates = hosts[nodeModule[n]]
            if candidates.count == 1 {
                route[n] = candidates[0]
                load[candidates[0]] += nodeDemand[n]
            } else if candidates.count > 1 {
                multiHost = true
            }
        }
        guard multiHost else { return (route, load) }
        var finish = [Double](repeating: 0, count: nodeCount)
        let order = (0..<taskCount).sorted { taskWeight[$0] != taskWeight[$1] ? taskWeight[$0] > taskWeight[$1] : $0 < $1 }
        for t in order {
            for n in taskNodes[t] {
                let m = nodeModule[n]
                let candidates = hosts[m]
                var bestDevice = route[n]
                var bestFinish = Double.infinity
                let choices = candidates.count > 1 ? candidates : (route[n] >= 0 ? [route[n]] : [])
                for d in choices {
                    var ready = 0.0
                    for k in inputStart[n]..<inputStart[n + 1] {
                        let producer = inputProducer[k]
                        var arrival: Double
                        if producer < 0 {
                            arrival = leg(d, inputBytes[k])
                        } else {
                            arrival = finish[producer]
                            let from = route[producer]
                            if from >= 0 && from != d { arrival += leg(from, inputBytes[k]) + leg(d, inputBytes[k]) }
                        }
                        ready = max(ready, arrival)
                    }
                    let extra = candidates.count > 1 ? nodeDemand[n] : 0
                    var done = ready + computeSeconds(m, on: d, load: load[d] + extra)
                    if nodeIsSink[n] { done += leg(d, moduleOutput[m]) }
                    if done < bestFinish || bestDevice < 0 {
                        bestFinish = done
                        bestDevice = d
                    }
                }
                if candidates.count > 1 {
                    route[n] = bestDevice
                    load[bestDevice] += nodeDemand[n]
                }
                finish[n] = bestFinish
            }
        }
        return (route, load)
    }

    /// Latency of every task and the weighted objective for a complete route.
    func evaluate(route: [Int], load: [Double]) -> (latencies: [Double], objective: Double) {
        var finish = [Double](repeating: 0, count: nodeCount)
        let zero = UnplacedEstimate.zero(moduleCount: moduleCount)
        var latencies: [Double] = []
        var objective = 0.0
        for t in 0..<taskCount {
            let value = taskLatency(t, route: route, load: load, unplaced: zero, finish: &finish)
            latencies.append(value)
            objective += taskWeight[t] * value
        }
        return (latencies, objective)
    }

    /// Memory used per device by a host set (each module counted once per hosting device).
    func memoryUsed(hosts: [[Int]]) -> [Int] {
        var used = [Int](repeating: 0, count: deviceCount)
        for m in 0..<moduleCount {
            for d in hosts[m] { used[d] += moduleMemory[m] }
        }
        return used
    }
}
