import Foundation
import S2M3Core
import TestSupport
import Testing

/// `/metrics` of a real cluster (`s2m3 up --metrics-port-base`) after `s2m3 demo`: the documented
/// series exist (docs/operations.md) and their counts match what the demo sent.
@Suite("Metrics of a local cluster", .serialized)
struct MetricsClusterTests {
    /// Task → requests the demo sent, read from its `[i/N] task ← …` lines.
    static func demoCounts(_ output: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("[") && line.contains("] ") && line.contains(" ← ") {
            let task = line.split(separator: "] ", maxSplits: 1)[1].split(separator: " ← ")[0]
            counts[String(task), default: 0] += 1
        }
        return counts
    }

    static func scrape(_ port: Int) async throws -> [MetricsScrape.Sample] {
        let response = try await within(.seconds(10), "GET /metrics on \(port)") { try await MetricsScrape.get(port: port) }
        #expect(response.status == 200)
        #expect(response.head.contains("text/plain; version=0.0.4"))
        return MetricsScrape.samples(response.body)
    }

    @Test("after the demo, /metrics of every service counts what was sent", .timeLimit(.minutes(8)))
    func metricsAfterDemo() async throws {
        let base = try MetricsScrape.freePortBase(count: 4)
        // Equal announced speeds: the plan does not depend on how busy the machine is while the agents start.
        let cluster = try await UpCluster([
            "--devices", "2", "--device-memory", "1.5GB", "--device-gflops", "100", "--metrics-port-base", String(base),
        ])
        do {
            try await check(cluster, base: base)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    private func check(_ cluster: UpCluster, base: Int) async throws {
        #expect(cluster.metricsPorts == ["planner": base, "agg-1": base + 1, "box-1": base + 2, "box-2": base + 3])
        // The cluster's private cache holds its cluster.env; the fixtures are the set-up's.
        let fixtures = TestPaths.cache.appendingPathComponent("fixtures").path
        let demo = try await S2M3Run.run(["demo", "--fixtures", fixtures], environment: ["S2M3_CACHE": cluster.cache], limit: .seconds(300))
        #expect(demo.status == 0, "demo failed:\n\(demo.output)")
        let sent = Self.demoCounts(demo.output)
        #expect(sent.count == 6 && sent.values.reduce(0, +) >= 6, "demo output not understood:\n\(demo.output)")

        // Aggregator: one answer per request, by task; the latency histogram counted each result.
        let aggregator = try await Self.scrape(try #require(cluster.metricsPorts["agg-1"]))
        for (task, count) in sent {
            #expect(aggregator.total("s2m3_requests_total", ["task": task]) == Double(count), "\(task): answers")
            #expect(aggregator.total("s2m3_requests_total", ["task": task, "outcome": "result"]) == Double(count), "\(task)")
            #expect(aggregator.total("s2m3_request_duration_seconds_count", ["task": task]) == Double(count), "\(task)")
            #expect(aggregator.total("s2m3_request_duration_seconds_bucket", ["task": task, "le": "+Inf"]) == Double(count), "\(task)")
        }
        #expect(aggregator.total("s2m3_requests_total") == Double(sent.values.reduce(0, +)), "no errors, no other tasks")
        #expect(aggregator.total("s2m3_plan_epoch") >= 1)
        #expect(aggregator.total("s2m3_bus_messages_total", ["direction": "in"]) >= Double(sent.values.reduce(0, +)))
        #expect(aggregator.total("s2m3_bus_bytes_total", ["direction": "out"]) > 0)
        for name in [
            "s2m3_aggregator_retries_total", "s2m3_aggregator_duplicate_requests_total", "s2m3_aggregator_dropped_partials_total",
            "s2m3_aggregator_overloaded_total", "s2m3_aggregator_requests_in_flight", "s2m3_process_resident_memory_bytes",
        ] {
            #expect(!aggregator.named(name).isEmpty, "aggregator: no \(name)")
        }
        #expect(aggregator.total("s2m3_aggregator_overloaded_total") == 0)
        #expect(aggregator.total("s2m3_process_resident_memory_bytes") > 1_000_000)

        // Planner: on a fresh broker its epochs start at 1, one per plan it published.
        let planner = try await Self.scrape(try #require(cluster.metricsPorts["planner"]))
        let epoch = planner.total("s2m3_plan_epoch")
        #expect(epoch >= 1)
        #expect(planner.total("s2m3_planner_plans_total") == epoch)
        #expect(planner.named("s2m3_planner_moves_total", ["action": "load"]).count == 1)
        #expect(planner.named("s2m3_planner_moves_total", ["action": "unload"]).count == 1)
        #expect(planner.total("s2m3_planner_devices") == 2)
        #expect(planner.total("s2m3_planner_solve_duration_seconds_count") >= 1)

        // Devices: every planned module invoked somewhere, as often as the aggregator sent it,
        // compute timed once per invocation, nothing left queued, memory counted. Modules run
        // where the plan put them: checked against the final plan when no module was ever unloaded
        // (the planner may re-plan while the demo runs, as measured costs arrive, and move some).
        let plan = try await cluster.plan()
        let moved = planner.total("s2m3_planner_moves_total", ["action": "unload"]) > 0
        var invokedModules: Set<String> = []
        var byModule: [String: Double] = [:]
        var totalInvocations = 0.0
        var refused = 0.0
        for device in ["box-1", "box-2"] {
            let samples = try await Self.scrape(try #require(cluster.metricsPorts[device]))
            #expect(samples.total("s2m3_plan_epoch", ["device": device]) == epoch, "\(device) applied the planner's epoch")
            #expect(samples.total("s2m3_device_queue_depth", ["device": device]) == 0)
            refused += samples.total("s2m3_device_refused_total", ["device": device])
            #expect(samples.total("s2m3_device_refused_total", ["device": device, "reason": "busy"]) == 0)
            #expect(samples.total("s2m3_device_invocations_total", ["status": "error"]) == 0)
            let hosted = Set(plan.placement.filter { $0.value.contains(device) }.keys)
            if !hosted.isEmpty { #expect(samples.total("s2m3_device_module_memory_bytes", ["device": device]) > 0) }
            let resident = samples.total("s2m3_device_resident_memory_bytes", ["device": device])
            let peak = samples.total("s2m3_device_peak_resident_memory_bytes", ["device": device])
            #expect(samples.total("s2m3_device_memory_budget_bytes", ["device": device]) == 1.5e9, "\(device) budget")
            #expect(samples.total("s2m3_device_base_memory_bytes", ["device": device]) > 0, "\(device) base")
            #expect(resident > 0 && peak >= resident && peak <= 1.5e9, "\(device): resident \(resident), peak \(peak)")
            for sample in samples.named("s2m3_device_invocations_total", ["device": device]) where sample.value > 0 {
                let module = try #require(sample.labels["module"])
                invokedModules.insert(module)
                totalInvocations += sample.value
                byModule[module, default: 0] += sample.value
                if !moved {
                    #expect(hosted.contains(module), "\(device) ran \(module), which the plan placed on \(plan.placement[module] ?? [])")
                }
                #expect(samples.total("s2m3_device_compute_duration_seconds_count", ["device": device, "module": module]) == sample.value)
            }
            #expect(samples.total("s2m3_bus_messages_total", ["direction": "in"]) > 0)
        }
        #expect(invokedModules == Set(plan.placement.keys), "modules planned but never invoked: \(Set(plan.placement.keys).subtracting(invokedModules))")
        #expect(totalInvocations >= Double(sent.values.reduce(0, +)))
        // Every invocation sent was run or refused on a device, except those lost on the way,
        // each of which was retried (every request got its result): a re-plan can unload a module
        // while an invocation travels to it (refused `not-loaded`, or dropped by the broker once
        // the device left the module's topic). Without retries the counts are equal.
        for (module, count) in byModule {
            #expect(aggregator.total("s2m3_aggregator_invocations_total", ["module": module]) >= count, "\(module): sent vs run")
        }
        let sentInvocations = aggregator.total("s2m3_aggregator_invocations_total")
        let retries = aggregator.total("s2m3_aggregator_retries_total")
        #expect(totalInvocations + refused <= sentInvocations)
        #expect(totalInvocations + refused >= sentInvocations - retries, "sent \(sentInvocations), run \(totalInvocations), refused \(refused), retries \(retries)")
    }
}
