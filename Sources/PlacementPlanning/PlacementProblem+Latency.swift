import S2M3Core
extension PlacementProblem {
    /// The critical-path latency of task `t`: every node starts when its slowest input has arrived
    /// (a task input crosses the node device's link once; another node's output crosses the
    /// producer's and the consumer's links unless both share a device and transfers are
    /// ``PlacementTransfers/direct``) and then computes; the task
    /// ends when the last result has crossed its device's link back to the broker.
    ///
    /// Nodes with `route[n] < 0` are not placed yet and count as free (no compute, no transfer):
    /// the latency "so far" the greedy rule compares. Returns +∞ when a used device is saturated.
    /// `finish` is scratch space indexed by global node.
    ///
    /// A device runs one invocation at a time: a node whose device is still busy with an earlier
    /// node of the same request waits for it, a 0-GFLOP node too, so parallel branches gain only
    /// when they are on different devices. "Earlier" is the task's topological order, which takes
    /// ready nodes in declaration order (`TaskGraph.topologicalOrder()`): a fixed order keeps the
    /// cost monotone, which ``taskLowerBound(_:route:load:memoryUsed:finish:)`` relies on
    /// (docs/placement.md says why not arrival order).
    func taskLatency(_ t: Int, route: [Int], load: [Double], finish: inout [Double]) -> Double {
        withUnsafeTemporaryAllocation(of: DeviceBusy.self, capacity: taskNodes[t].count) { buffer in
            var busy = DeviceSchedule(buffer)
            return taskLatency(t, route: route, load: load, finish: &finish, busy: &busy)
        }
    }

    private func taskLatency(
        _ t: Int, route: [Int], load: [Double], finish: inout [Double], busy: inout DeviceSchedule
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
                    arrival = d >= 0 ? latency[d] + bytes * secondsPerByte[d] : 0
                } else {
                    arrival = finish[producer]
                    let from = route[producer]
                    if d >= 0 && from >= 0 && (from != d || sameDeviceCrosses) {
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
                compute = 0
            }
            let done = (d >= 0 ? busy.start(on: d, ready: ready, compute: compute) : ready) + compute
            finish[n] = done
            if nodeIsSink[n] {
                let back = d >= 0 ? latency[d] + moduleOutput[m] * secondsPerByte[d] : 0
                if done + back > result { result = done + back }
            }
        }
        return result
    }

    /// A lower bound on task `t`'s latency over every completion of a partial placement: placed
    /// nodes cost what they cost now; each unplaced node of module m is put, on its own, on the
    /// device where it would finish first among those that still have room for m and stay
    /// unsaturated with m's demand added (transfers from placed producers counted, from unplaced
    /// ones free). Loads and memory only grow as the placement is completed, so no completion does
    /// better. Returns +∞ when an unplaced node has no device left.
    func taskLowerBound(
        _ t: Int, route: [Int], load: [Double], memoryUsed: [Int], finish: inout [Double]
    ) -> Double {
        withUnsafeTemporaryAllocation(of: DeviceBusy.self, capacity: taskNodes[t].count) { buffer in
            var busy = DeviceSchedule(buffer)
            return taskLowerBound(t, route: route, load: load, memoryUsed: memoryUsed, finish: &finish, busy: &busy)
        }
    }

    /// Placed nodes run one at a time on their device, as in ``taskLatency``: unplaced nodes can
    /// only delay them further, so this stays a lower bound.
    private func taskLowerBound(
        _ t: Int, route: [Int], load: [Double], memoryUsed: [Int], finish: inout [Double], busy: inout DeviceSchedule
    ) -> Double {
        var result = 0.0
        for n in taskNodes[t] {
            let d = route[n]
            let m = nodeModule[n]
            if d >= 0 {
                var ready = 0.0
                for k in inputStart[n]..<inputStart[n + 1] {
                    let producer = inputProducer[k]
                    var arrival: Double
                    if producer < 0 {
                        arrival = latency[d] + inputBytes[k] * secondsPerByte[d]
                    } else {
                        arrival = finish[producer]
                        let from = route[producer]
                        if from >= 0 && (from != d || sameDeviceCrosses) {
                            arrival += latency[from] + latency[d] + inputBytes[k] * (secondsPerByte[from] + secondsPerByte[d])
                        }
                    }
                    if arrival > ready { ready = arrival }
                }
                let utilisation = load[d] / speed[d]
                if utilisation >= 1 { return .infinity }
                let compute = moduleWork[m] / speed[d] / (1 - utilisation)
                let done = busy.start(on: d, ready: ready, compute: compute) + compute
                finish[n] = done
                if nodeIsSink[n] { result = max(result, done + latency[d] + moduleOutput[m] * secondsPerByte[d]) }
                continue
            }
            var best = Double.infinity
            var bestWithResult = Double.infinity
            for c in 0..<deviceCount {
                guard memoryUsed[c] + moduleMemory[m] <= memory[c] else { continue }
                let utilisation = (load[c] + moduleDemand[m]) / speed[c]
                guard utilisation < 1 else { continue }
                var ready = 0.0
                for k in inputStart[n]..<inputStart[n + 1] {
                    let producer = inputProducer[k]
                    var arrival: Double
                    if producer < 0 {
                        arrival = latency[c] + inputBytes[k] * secondsPerByte[c]
                    } else {
                        arrival = finish[producer]
                        let from = route[producer]
                        if from >= 0 && (from != c || sameDeviceCrosses) {
                            arrival += latency[from] + latency[c] + inputBytes[k] * (secondsPerByte[from] + secondsPerByte[c])
                        }
                    }
                    if arrival > ready { ready = arrival }
                }
                let done = ready + moduleWork[m] / speed[c] / (1 - utilisation)
                if done < best { best = done }
                if nodeIsSink[n] {
                    let delivered = done + latency[c] + moduleOutput[m] * secondsPerByte[c]
                    if delivered < bestWithResult { bestWithResult = delivered }
                }
            }
            if !best.isFinite { return .infinity }
            finish[n] = best
            if nodeIsSink[n] { result = max(result, bestWithResult) }
        }
        return result
    }

    /// Routes every node over its module's hosts; returns the route per node and the resulting
    /// compute demand per device.
    ///
    /// Nodes of single-host modules go to that host. The others are routed task by task (heaviest
    /// task first, then declaration order), in topological order, each to the host where it would
    /// finish first given the load routed so far (ties: the device declared first). Per node, as
    /// the aggregator chooses per invocation: two nodes of one task invoking the same module may
    /// take different replicas. Deterministic.
    func route(hosts: [[Int]]) -> (route: [Int], load: [Double]) {
        var route = [Int](repeating: -1, count: nodeCount)
        var load = [Double](repeating: 0, count: deviceCount)
        // Tasks with a multi-host node: only their nodes' finish times steer a choice (a node's
        // producers are in its own task), so the other tasks are not walked again.
        var multiHost = [Bool](repeating: false, count: taskCount)
        var anyMultiHost = false
        // (Index access into `hosts`: copying a module's host array out retained and released it
        // per node, a tenth of the replica planner's time at 1,000 × 200.)
        for n in 0..<nodeCount {
            let m = nodeModule[n]
            if hosts[m].count == 1 {
                route[n] = hosts[m][0]
                load[hosts[m][0]] += nodeDemand[n]
            } else if hosts[m].count > 1 {
                multiHost[nodeTask[n]] = true
                anyMultiHost = true
            }
        }
        guard anyMultiHost else { return (route, load) }
        var finish = [Double](repeating: 0, count: nodeCount)
        for t in tasksByWeight where multiHost[t] {
            for n in taskNodes[t] {
                let m = nodeModule[n]
                if hosts[m].count > 1 {
                    var bestDevice = -1
                    var bestFinish = Double.infinity
                    for i in 0..<hosts[m].count {
                        let d = hosts[m][i]
                        let done = finishTime(n, on: d, route: route, load: load[d] + nodeDemand[n], finish: finish)
                        if done < bestFinish || bestDevice < 0 {
                            bestFinish = done
                            bestDevice = d
                        }
                    }
                    route[n] = bestDevice
                    load[bestDevice] += nodeDemand[n]
                    finish[n] = bestFinish
                } else {
                    // A single host, or none (+∞); a NaN estimate counts as +∞, as a choice would.
                    let d = route[n]
                    let done = d >= 0 ? finishTime(n, on: d, route: route, load: load[d], finish: finish) : .infinity
                    finish[n] = done < .infinity ? done : .infinity
                }
            }
        }
        return (route, load)
    }

    /// When node `n` would deliver on device `d` under demand `load` there, its producers done at
    /// `finish` on `route` (device queueing aside): the router's estimate.
    @inline(__always)
    private func finishTime(_ n: Int, on d: Int, route: [Int], load: Double, finish: [Double]) -> Double {
        var ready = 0.0
        for k in inputStart[n]..<inputStart[n + 1] {
            let producer = inputProducer[k]
            var arrival: Double
            if producer < 0 {
                arrival = leg(d, inputBytes[k])
            } else {
                arrival = finish[producer]
                let from = route[producer]
                if from >= 0 && (from != d || sameDeviceCrosses) { arrival += leg(from, inputBytes[k]) + leg(d, inputBytes[k]) }
            }
            ready = max(ready, arrival)
        }
        var done = ready + computeSeconds(nodeModule[n], on: d, load: load)
        if nodeIsSink[n] { done += leg(d, moduleOutput[nodeModule[n]]) }
        return done
    }

    /// Latency of every task and the weighted objective for a complete route.
    func evaluate(route: [Int], load: [Double]) -> (latencies: [Double], objective: Double) {
        var finish = [Double](repeating: 0, count: nodeCount)
        var latencies: [Double] = []
        var objective = 0.0
        for t in 0..<taskCount {
            let value = taskLatency(t, route: route, load: load, finish: &finish)
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

/// One device's place in a ``DeviceSchedule``.
struct DeviceBusy {
    var device: Int
    var time: Double
}

/// When each device used by one request finishes the work given to it so far (a device runs one
/// invocation at a time), in scratch memory the caller provides: a request touches few devices.
struct DeviceSchedule {
    private let slots: UnsafeMutableBufferPointer<DeviceBusy>
    private var used = 0

    init(_ slots: UnsafeMutableBufferPointer<DeviceBusy>) { self.slots = slots }

    /// The time a node ready at `ready` starts on `device`, which is then busy for `compute`.
    /// Every node waits for the device's earlier nodes, a 0-GFLOP one too: a built-in invocation
    /// goes through the device's invocation queue like any other (docs/placement.md).
    mutating func start(on device: Int, ready: Double, compute: Double) -> Double {
        for i in 0..<used where slots[i].device == device {
            let start = max(ready, slots[i].time)
            slots[i].time = start + compute
            return start
        }
        slots[used] = DeviceBusy(device: device, time: ready + compute)
        used += 1
        return ready
    }
}
