import Foundation
import LocalBroker
import S2M3Core
import TestSupport
import Testing

/// `s2m3 status --once --json` against a real cluster (`s2m3 up` as a child process): it sees every
/// device, module, aggregator and planner from the bus alone, and who died.
@Suite("s2m3 status on a local cluster", .serialized)
struct StatusCommandTests {
    /// One `s2m3 status --once --json` run, reading the cluster's `cluster.env` (no `--broker`).
    static func snapshot(_ cluster: UpCluster) async throws -> ClusterSnapshot {
        let base = NSTemporaryDirectory() + "s2m3-status-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let child = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, ["status", "--once", "--json", "--wait-ms", "2500"],
            stdout: .appendToFile(base + ".out"), stderr: .appendToFile(base + ".err"), environment: ["S2M3_CACHE": cluster.cache])
        let status = try await within(.seconds(60), "s2m3 status to exit") { await child.waitUntilExit() }
        let output = FileManager.default.contents(atPath: base + ".out") ?? Data()
        let errors = String(decoding: FileManager.default.contents(atPath: base + ".err") ?? Data(), as: UTF8.self)
        #expect(status == 0, "s2m3 status exited \(status.map(String.init) ?? "by a signal"): \(errors)")
        do {
            return try JSONDecoder().decode(ClusterSnapshot.self, from: output)
        } catch {
            throw ClusterTestError("s2m3 status printed no snapshot (\(error)):\n\(String(decoding: output, as: UTF8.self))\n\(errors)")
        }
    }

    /// Runs `s2m3 status` until `condition` holds of its snapshot (or `limit` passes).
    static func waitFor(
        _ what: String, _ cluster: UpCluster, limit: Duration = .seconds(60), _ condition: @escaping @Sendable (ClusterSnapshot) -> Bool
    ) async throws -> ClusterSnapshot {
        let deadline = ContinuousClock.now + limit
        var last: ClusterSnapshot?
        while ContinuousClock.now < deadline {
            let snapshot = try await snapshot(cluster)
            if condition(snapshot) { return snapshot }
            last = snapshot
        }
        throw ClusterTestError("s2m3 status never showed \(what); last snapshot: \(last.map { "\($0)" } ?? "none") (logs in \(cluster.logs))")
    }

    @Test("lists every device, module, aggregator and the planner with the plan's epoch; shows who died or stopped",
          .timeLimit(.minutes(8)))
    func showsTheClusterAndWhoLeft() async throws {
        let cluster = try await UpCluster(["--devices", "3", "--device-gflops", "100", "--no-restart"])
        do {
            try await check(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// The live view: redrawn (at least twice here) until SIGINT, then exit 0.
    func liveView(_ cluster: UpCluster, epoch: Int) async throws {
        let child = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, ["status", "--interval-ms", "300"], stdout: .pipe, stderr: .null,
            environment: ["S2M3_CACHE": cluster.cache])
        let lines = child.outputLines()
        let seen = try await within(.seconds(30), "two redraws of s2m3 status") {
            var planLines: [String] = []
            for await line in lines {
                if line.contains("plan: epoch") { planLines.append(line) }
                if planLines.count >= 2 { break }
            }
            return planLines
        }
        child.send(SIGINT)
        let status = try await within(.seconds(15), "s2m3 status to exit on SIGINT") { await child.waitUntilExit() }
        #expect(status == 0)
        #expect(seen.count == 2 && seen.allSatisfy { $0.contains("plan: epoch \(epoch),") }, "\(seen)")
    }

    /// On the secure broker (TLS, a login per role, the ACL) the services may publish their presence
    /// and `s2m3 status`, with the `client` login of `cluster.env`, may read all of it.
    @Test("works on the secure broker with the client login", .timeLimit(.minutes(5)))
    func secureCluster() async throws {
        let cluster = try await UpCluster(["--secure", "--devices", "2", "--device-memory", "600MB"])
        do {
            let plan = try await Self.waitFor("every service online with telemetry", cluster) { snapshot in
                snapshot.plan != nil && snapshot.devices.count == 2
                    && snapshot.devices.allSatisfy { $0.status == .online && $0.telemetryAgeMs != nil && $0.memoryBudgetBytes != nil }
                    && snapshot.aggregators.contains { $0.id == "agg-1" && $0.status == .online && $0.telemetryAgeMs != nil }
                    && snapshot.planners.contains { $0.id == "planner" && $0.status == .online && $0.telemetryAgeMs != nil }
            }.plan
            #expect(plan?.devices == ["box-1", "box-2"])
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// A planner and an aggregator that die (SIGKILL) are shown offline by their last will.
    @Test("a killed planner and aggregator show offline (last-will)", .timeLimit(.minutes(5)))
    func killedServicesShowTheirWill() async throws {
        let cluster = try await UpCluster(["--devices", "1", "--device-memory", "2GiB", "--device-gflops", "100", "--no-restart"])
        do {
            _ = try await Self.waitFor("the planner and agg-1 online", cluster) { snapshot in
                snapshot.aggregators.contains { $0.id == "agg-1" && $0.status == .online }
                    && snapshot.planners.contains { $0.id == "planner" && $0.status == .online }
            }
            kill(try #require(cluster.pids["agg-1"]), SIGKILL)
            kill(try #require(cluster.pids["planner"]), SIGKILL)
            let snapshot = try await Self.waitFor("the planner and agg-1 offline", cluster) { snapshot in
                snapshot.aggregators.contains { $0.id == "agg-1" && $0.status == .offline }
                    && snapshot.planners.contains { $0.id == "planner" && $0.status == .offline }
            }
            #expect(snapshot.aggregators.first { $0.id == "agg-1" }?.reason == "last-will")
            #expect(snapshot.planners.first { $0.id == "planner" }?.reason == "last-will")
            #expect(snapshot.devices.map(\.status) == [.online], "the device lives on")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    func check(_ cluster: UpCluster) async throws {
        // One request answered with an error, so the aggregator's recent counts have something.
        let client = try await cluster.client()
        _ = try? await client.request(task: "classify-image", inputs: ["text": .text("not an image")], timeout: .seconds(10))
        await client.close()

        let plan = try await cluster.plan()
        let snapshot = try await Self.waitFor("the plan's epoch, every device's telemetry and agg-1's telemetry", cluster) { snapshot in
            snapshot.plan?.epoch == plan.epoch && snapshot.devices.allSatisfy { $0.telemetryAgeMs != nil }
                && snapshot.aggregators.contains { $0.id == "agg-1" && $0.epoch == plan.epoch }
                && snapshot.planners.contains { $0.epoch == plan.epoch }
        }
        #expect(snapshot.devices.map(\.id) == ["box-1", "box-2", "box-3"])
        var hosted: [String: [String]] = [:]
        for (module, devices) in plan.placement { for device in devices { hosted[device, default: []].append(module) } }
        for device in snapshot.devices {
            #expect(device.status == .online, "\(device.id)")
            #expect(device.memoryBudgetBytes != nil && device.residentMemoryBytes != nil, "\(device.id): memory")
            #expect(device.assignedModules == (hosted[device.id] ?? []).sorted(), "\(device.id): modules")
            #expect(device.queueCapacity != nil, "\(device.id): queue")
        }
        #expect(snapshot.modules.map(\.module) == plan.placement.keys.sorted())
        for module in snapshot.modules { #expect(module.devices == plan.placement[module.module], "\(module.module)") }
        let aggregator = try #require(snapshot.aggregators.first { $0.id == "agg-1" })
        #expect(aggregator.status == .online && aggregator.inFlight == 0)
        #expect(aggregator.errors?["missing-input"] == 1, "the failed request in agg-1's recent errors: \(aggregator)")
        #expect((aggregator.requests ?? 0) >= 1)
        let planner = try #require(snapshot.planners.first)
        #expect(planner.id == "planner" && planner.status == .online)
        #expect(planner.liveDevices == ["box-1", "box-2", "box-3"] && (planner.replans ?? 0) >= 1)

        try await liveView(cluster, epoch: plan.epoch)

        // A killed device: its last will.
        let device = try #require(cluster.pids["box-3"], "up printed box-3's pid")
        kill(device, SIGKILL)
        let afterKill = try await Self.waitFor("box-3 offline", cluster) { snapshot in
            snapshot.devices.contains { $0.id == "box-3" && $0.status == .offline }
        }
        #expect(afterKill.devices.first { $0.id == "box-3" }?.reason == "last-will")
        #expect(afterKill.devices.filter { $0.status == .online }.map(\.id) == ["box-1", "box-2"])

        // The planner and the aggregator stopped: their own `offline`, reason shutdown.
        kill(try #require(cluster.pids["agg-1"]), SIGTERM)
        kill(try #require(cluster.pids["planner"]), SIGTERM)
        let afterStop = try await Self.waitFor("the planner and agg-1 offline", cluster) { snapshot in
            snapshot.aggregators.contains { $0.id == "agg-1" && $0.status == .offline }
                && snapshot.planners.contains { $0.id == "planner" && $0.status == .offline }
        }
        #expect(afterStop.aggregators.first { $0.id == "agg-1" }?.reason == "shutdown")
        #expect(afterStop.planners.first { $0.id == "planner" }?.reason == "shutdown")
    }
}
