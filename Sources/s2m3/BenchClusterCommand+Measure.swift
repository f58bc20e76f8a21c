import Catalog
import Foundation
import LocalCluster
import S2M3Core

/// The measurements of `s2m3 bench cluster`: latency rounds over the modes, throughput under load.
struct BenchClusterMeasure {
    let rig: BenchClusterRig
    let inputs: [String: TaskRequest]
    let tasks: [String]
    let requests: Int
    let warmUp: Int
    /// Seconds of each throughput load before its answers count (`--throughput-settle`).
    var settleSeconds = 0.0
    /// Where the timed answers go with their timelines (`--timelines`), if anywhere.
    var timelines: BenchTimelineLog?

    /// Latency of every task in every mode. The parallel cluster, the in-process runner, `serve`
    /// and cloud are measured interleaved (round by round, task by task), so load on the machine
    /// hits them alike; then the aggregator is replaced by a `--sequential` one on the same devices,
    /// then by a `--no-chains` one.
    func latency(devices: Int, into report: inout BenchClusterReport) async throws {
        let (total, largest) = rig.cluster.placement.moduleMemory
        let budget = ClusterBudget.deviceBudget(total: total, largest: largest, devices: devices, base: rig.cluster.processBaseBytes)
        for task in tasks { report.criticalPath[task] = try criticalPath(task) }
        let phase = try await rig.startCluster(name: "latency", devices: devices, budget: budget, sequential: false)
        report.latencyCluster = (devices, budget, phase.replicas)
        do {
            try await rounds([
                (.parallel, .client(phase.client)), (.inProcess, .local(rig.local)),
                (.serve, .client(rig.serveClient)), (.cloud, .client(rig.cloudClient)),
            ], into: &report)
            report.firstPlan = phase.plan
            report.learnedPlan = await phase.retainedPlan()
            try await phase.startAggregator(sequential: true)
            try await rounds([(.sequential, .client(phase.client))], into: &report)
            try await phase.startAggregator(sequential: false, chains: false)
            try await rounds([(.unchained, .client(phase.client))], into: &report)
        } catch {
            await phase.stop()
            throw error
        }
        await phase.stop()
    }

    private func rounds(_ modes: [(BenchClusterReport.Mode, BenchTarget)], into report: inout BenchClusterReport) async throws {
        print("bench cluster: latency of \(modes.map(\.0.rawValue).joined(separator: "; ")): \(warmUp) warm-up + \(requests) requests per task")
        fflush(nil)
        for task in tasks {
            for (mode, target) in modes {
                for index in 0..<warmUp {
                    let start = ContinuousClock.now
                    do {
                        _ = try await target.run(task, inputs[task]!)
                        if index == 0 { report.firstRequest[mode, default: [:]][task] = Self.ms(ContinuousClock.now - start) }
                    } catch {
                        print("  warm-up \(mode.rawValue) \(task) failed: \(error)")
                        fflush(nil)
                    }
                }
            }
        }
        for round in 0..<requests {
            for task in tasks {
                for (mode, target) in modes {
                    let start = ContinuousClock.now
                    do {
                        let result = try await target.run(task, inputs[task]!)
                        let clientMs = Self.ms(ContinuousClock.now - start)
                        report.latency[mode, default: [:]][task, default: []].append(clientMs)
                        if mode == .parallel { report.transfer[task, default: []] += result.timeline.map(\.transferMs) }
                        timelines?.append(run: "latency: \(mode.rawValue)", task: task, result: result, clientMs: clientMs)
                        report.serviceMs[mode, default: [:]][task, default: []].append(result.totalMs)
                    } catch {
                        report.failures[mode, default: 0] += 1
                        if report.failureSamples.count < 6 { report.failureSamples.append("\(mode.rawValue) \(task): \(error)") }
                    }
                }
            }
            if (round + 1) % 5 == 0 {
                print("  round \(round + 1)/\(requests), load \(BenchClusterRig.loadAverage())")
                fflush(nil)
            }
        }
    }

    /// Requests/s of a local cluster with `devices` agents, each with a budget that holds every
    /// module, for each mix of tasks.
    func throughput(devices: Int, mixes: [[String]], concurrency: Int, seconds: Double) async throws -> [BenchClusterReport.Throughput] {
        let (total, largest) = rig.cluster.placement.moduleMemory
        let budget = ClusterBudget.deviceBudget(total: total, largest: largest, devices: 1, base: rig.cluster.processBaseBytes)
        let phase = try await rig.startCluster(name: "throughput-\(devices)", devices: devices, budget: budget, sequential: false)
        var rows: [BenchClusterReport.Throughput] = []
        let members = phase.processes.all
        func pids(_ named: (String) -> Bool) -> [Int32] { members.filter { named($0.name) }.map(\.process.processIdentifier) }
        let roles: [(role: String, pids: [Int32])] = [
            ("inference", pids { $0.hasPrefix("box-") }), ("aggregator", pids { $0.hasPrefix("agg-") }), ("planner", pids { $0 == "planner" }),
            ("broker", rig.edge.processIdentifier.map { [$0] } ?? []), ("client", [getpid()]),
        ]
        for mix in mixes {
            var row = await load(
                .client(phase.client), run: "\(devices) devices", mix: mix, concurrency: concurrency, seconds: seconds, cpu: ProcessCPU(roles: roles))
            (row.devices, row.budget, row.replicas) = (devices, budget, phase.replicas)
            rows.append(row)
        }
        await phase.stop()
        return rows
    }

    /// The same loads on `s2m3 serve` over its loopback broker.
    func throughputServe(mixes: [[String]], concurrency: Int, seconds: Double) async -> [BenchClusterReport.Throughput] {
        var rows: [BenchClusterReport.Throughput] = []
        let cpu = ProcessCPU(roles: [
            ("inference", [rig.serve.processIdentifier]), ("broker", rig.cloudBroker.processIdentifier.map { [$0] } ?? []), ("client", [getpid()]),
        ])
        for mix in mixes {
            rows.append(await load(.client(rig.serveClient), run: "serve", mix: mix, concurrency: concurrency, seconds: seconds, cpu: cpu))
        }
        return rows
    }

    /// Requests cycling through `mix`, `concurrency` at a time, sent for ``settleSeconds`` and then
    /// `seconds` (after one warm-up per task); the rate counts the answers of the requests sent
    /// after the settling, up to the last one. `cpu`'s processes are read at the end of the
    /// settling and after the last answer.
    private func load(
        _ target: BenchTarget, run: String, mix: [String], concurrency: Int, seconds: Double, cpu: ProcessCPU
    ) async -> BenchClusterReport.Throughput {
        let settling = settleSeconds > 0 ? " after \(settleSeconds) s of settling" : ""
        print("bench cluster: throughput of \(mix.joined(separator: " + ")), \(concurrency) at a time for \(seconds) s\(settling)")
        fflush(nil)
        for task in mix { _ = try? await target.run(task, inputs[task]!) }
        let counter = BenchCounter(), shown = BenchCounter()
        let (inputs, timelines, label) = (inputs, timelines, "\(run): \(mix.joined(separator: " + "))")
        let start = ContinuousClock.now + .milliseconds(Int(settleSeconds * 1000))
        let stopSending = start + .milliseconds(Int(seconds * 1000))
        async let startReading: ProcessCPU.Reading = {
            try? await Task.sleep(until: start, clock: .continuous)
            return cpu.read()
        }()
        let outcomes = await withTaskGroup(of: [Double?].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var out: [Double?] = []
                    while ContinuousClock.now < stopSending, let index = counter.next(below: .max) {
                        let task = mix[index % mix.count], begin = ContinuousClock.now
                        do {
                            let result = try await target.run(task, inputs[task]!)
                            let ms = Self.ms(ContinuousClock.now - begin)
                            if begin >= start { out.append(ms) }
                            timelines?.append(run: label, task: task, result: result, clientMs: ms)
                        } catch {
                            if begin >= start { out.append(nil) }
                            if shown.next(below: 3) != nil { print("  \(task) failed under load: \(error)") }
                        }
                    }
                    return out
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = Self.ms(ContinuousClock.now - start) / 1000
        let usage = ProcessCPU.usage(from: await startReading, to: cpu.read())
        let done = outcomes.compactMap { $0 }
        return BenchClusterReport.Throughput(
            mix: mix.count > 2 ? "all \(mix.count) tasks" : mix.joined(separator: " + "),
            completed: done.count, failed: outcomes.count - done.count, seconds: elapsed, latencies: done, cpu: usage)
    }

    /// Invocations on the longest dependency chain of a task's graph.
    func criticalPath(_ task: String) throws -> Int {
        guard let entry = rig.cluster.catalog.tasks.first(where: { $0.id == task }) else { return 0 }
        let binding = try TaskBinding(task: entry, catalog: rig.cluster.catalog)
        var depth: [String: Int] = [:]
        func depthOf(_ id: String) -> Int {
            if let known = depth[id] { return known }
            guard let node = binding.node(id) else { return 0 }  // a task input
            let value = 1 + (node.inputs.map(depthOf).max() ?? 0)
            depth[id] = value
            return value
        }
        return binding.nodes.map { depthOf($0.id) }.max() ?? 0
    }

    static func ms(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// Hands out request indices to the throughput workers.
final class BenchCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next(below limit: Int) -> Int? {
        lock.withLock {
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
