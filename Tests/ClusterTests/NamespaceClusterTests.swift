import Catalog
import Foundation
import S2M3Core
import TestSupport
import Testing

/// The cluster across hosts: broker, planner, aggregator, client and three devices in network
/// namespaces of their own (`scripts/netns-cluster.sh`, docs/deploy.md), the device links shaped
/// like Wi-Fi (50 Mbit/s by `tc tbf`, 10 ms each way by the relay in the device's namespace).
/// Needs root; skips with the reason where namespaces are not permitted.
@Suite("Cluster across network namespaces", .serialized)
struct NamespaceClusterTests {
    /// The same requests as ``ClusterTests/requests()``, as `s2m3 request` options.
    static func commandLines() -> [(task: String, arguments: [String])] {
        let fixture = { (name: String) in TestPaths.cache.appendingPathComponent("fixtures/\(name)").path }
        return [
            ("classify-image", ["--image", fixture("chelsea.jpg")]),
            ("match-image-text", ["--image", fixture("coffee.jpg")]
                + ["a cat", "a cup of espresso", "a cameraman", "a scooter", "a rocket on its launch pad"].flatMap { ["--text", $0] }),
            ("transcribe", ["--audio", fixture("sentence-inspection.wav")]),
            ("voice-command", ["--audio", fixture("cmd-open-gate.wav")]),
            ("read-text", ["--image", fixture("ocr-inspection.png")]),
            ("describe-scene", ["--image", fixture("chelsea.jpg"), "--audio", fixture("cmd-stop-line.wav")]),
        ]
    }

    static let delayMs = 10.0

    @Test("every task answers like the one-process runner across namespaces, and again after a device's namespace dies",
          .timeLimit(.minutes(5)))
    func acrossNamespaces() async throws {
        if let reason = await NamespaceCluster.unavailableReason() {
            print("SKIPPED cluster across network namespaces: \(reason)")
            return
        }
        await NamespaceCluster.pruneLeftovers()
        let started = ContinuousClock.now
        let models = try NamespaceCluster.modelLinks()
        let catalog = try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path, modelsDirectory: models)
        let lines = Self.commandLines()
        #expect(Set(lines.map(\.task)) == Set(catalog.tasks.map(\.id)), "a request for every task of the catalog")
        #expect(try ClusterTests.requests().map(\.task) == lines.map(\.task))
        let expected = try await ClusterTests.monolithic(try ClusterTests.requests(), models: models)

        let cluster = try await NamespaceCluster(
            devices: 3, deviceMemory: "1GB", delayMs: Self.delayMs, rateMbit: 50, models: models)
        let watch: ClusterWatch
        do {
            watch = try cluster.watch()
        } catch {
            await cluster.down()
            throw error
        }
        do {
            let plan = try await watch.ready(devices: cluster.devices, timeout: .seconds(120))
            print("netns cluster ready \(ContinuousClock.now - started) after the test began; plan epoch \(plan.epoch)")
            checkAddresses(cluster)
            for device in cluster.devices {
                let uplink = try await cluster.output(in: device, ["tc", "qdisc", "show", "dev", "eth0"])
                let downlink = try await cluster.output(in: "switch", ["tc", "qdisc", "show", "dev", "v-\(device)"])
                for (link, qdisc) in [("uplink", uplink), ("downlink", downlink)] {
                    #expect(qdisc.contains("tbf") && qdisc.contains("rate 50Mbit"), "\(device) \(link): \(qdisc)")
                }
            }
            try await answerEveryTask(cluster, expected: expected, devices: cluster.devices, round: "all devices")

            // Kill the namespace of the device holding the image trunk: every process in it.
            let victim = try #require(plan.placement["effnet-lite0-trunk"]?.first, "effnet-lite0-trunk is placed")
            let killedAt = ContinuousClock.now
            #expect(try await cluster.processes(in: victim).count == 2, "\(victim): the device agent and its relay")
            try await cluster.kill(victim)
            var left = try await cluster.processes(in: victim)
            for _ in 0..<20 where !left.isEmpty {  // SIGKILL is sent; the exits follow within moments
                try await Task.sleep(for: .milliseconds(100))
                left = try await cluster.processes(in: victim)
            }
            #expect(left.isEmpty, "nothing runs in \(victim)'s namespace any more: \(left)")
            let remaining = cluster.devices.filter { $0 != victim }
            let replan = try await watch.ready(devices: remaining, after: plan.epoch, timeout: .seconds(60))
            print("re-planned without \(victim) (epoch \(replan.epoch)), applied \(ContinuousClock.now - killedAt) after the kill")
            #expect(replan.unavailableTasks?.isEmpty ?? true, "every task is still placed: \(replan.unavailableTasks ?? [:])")
            try await answerEveryTask(cluster, expected: expected, devices: remaining, round: "without \(victim)")
        } catch {
            await watch.stop()
            await cluster.down()
            throw error
        }
        await watch.stop()
        await cluster.down()
        print("netns cluster test wall time \(ContinuousClock.now - started)")
    }

    /// Sends one request per task from the client's namespace; each equals the one-process result,
    /// ran only on `devices`, and every invocation took at least the link's round trip.
    func answerEveryTask(
        _ cluster: NamespaceCluster, expected: [String: TaskResult], devices: [String], round: String
    ) async throws {
        for (task, arguments) in Self.commandLines() {
            let (result, wallMs) = try await cluster.request(task, arguments)
            #expect(result.task == task)
            ClusterTests.expectSame(result, try #require(expected[task]))
            #expect(!result.timeline.isEmpty, "\(task): a timeline")
            for entry in result.timeline {
                #expect(devices.contains(entry.device), "\(task) (\(round)): \(entry.node) ran on \(entry.device)")
                // A node chained after another on its device crossed no link (topics.md, "Chains").
                guard entry.chainedAfter == nil else { continue }
                // Aggregator → broker → the device's link (relay: delay each way) → device and back.
                #expect(entry.endMs - entry.startMs >= 2 * Self.delayMs - 0.5,
                        "\(task) (\(round)): \(entry.node) on \(entry.device) took \(entry.endMs - entry.startMs) ms, under the link's round trip")
            }
            print(String(format: "netns %@ (%@): total %.1f ms at the aggregator, %.0f ms for `s2m3 request`", task, round, result.totalMs, wallMs))
        }
    }

    /// The broker saw each service connect from the address of that service's own namespace.
    func checkAddresses(_ cluster: NamespaceCluster) {
        let log = cluster.brokerLog()
        var clients: [(String, String)] = [("s2m3-planner", "10.77.0.2"), ("s2m3-aggregator-agg-1", "10.77.0.3")]
        for (index, device) in cluster.devices.enumerated() { clients.append((device, "10.77.0.\(11 + index)")) }  // a device's client id is its id
        for (client, address) in clients {
            let line = log.split(separator: "\n").first { $0.contains(" as \(client) ") }
            #expect(line?.contains("New client connected from \(address):") == true,
                    "\(client) connects from \(address): \(line.map(String.init) ?? "no connection line in\n\(log.suffix(2000))")")
        }
    }
}
