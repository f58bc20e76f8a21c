import Foundation
import Inference
import LocalCluster
import Logging
import S2M3Client
import S2M3Core

/// `s2m3 bench cluster --memory`: each device's resident memory against its budget while a local
/// cluster (as `s2m3 up` starts it, default budgets) answers the demo's requests and then a load,
/// once with ONNX Runtime's own memory settings (`arena`, the settings before) and once with the
/// default ones, one cluster after the other in one run. Peaks are the devices' `VmHWM`, read from
/// `/proc/<pid>/status` after each phase.
extension BenchClusterCommand {
    struct MemoryRow {
        var setting: String
        var phase: String
        var device: String
        var budget: Int
        var peak: Int
        var resident: Int
    }

    func runMemory(cluster: ClusterCatalog, logDirectory: String) async throws {
        var rows: [MemoryRow] = []
        var answers: [String: (ok: Int, failed: Int)] = [:]
        let gflops = try await LocalDeviceSpeed.gflops(given: nil)
        for setting in ["arena", "no-arena-trim"] {
            var configuration = LocalClusterConfiguration(cluster: cluster, logDirectory: logDirectory + "/memory-" + setting)
            configuration.devices = devices
            configuration.deviceArguments = ["--memory-settings", setting, "--threads", String(deviceThreads), "--compute-gflops", String(gflops)]
            configuration.clusterFile = nil
            configuration.restarts = nil
            let budget = configuration.budget
            print("bench cluster --memory: \(setting): \(devices) devices × \(ClusterReport.mib(budget))")
            fflush(nil)
            let running = try await RunningCluster.start(configuration)
            do {
                let deviceProcesses = running.processes.all.filter { configuration.deviceIDs.contains($0.name) }
                func read(_ phase: String) {
                    for member in deviceProcesses {
                        let (peak, resident) = Self.memory(pid: member.process.processIdentifier)
                        rows.append(MemoryRow(setting: setting, phase: phase, device: member.name, budget: budget, peak: peak, resident: resident))
                    }
                }
                read("ready")
                let broker = try running.access.configuration(identity: UpCredentials.client)
                var logger = Logger(label: "s2m3.bench-memory")
                logger.logLevel = .warning
                let client = S2M3Client(broker: broker, clientID: "bench-memory-\(getpid())", topics: Topics(root: running.root), logger: logger)
                try await client.connect()
                let cases = try DemoRunner(broker: broker, root: running.root, fixtures: fixtures ?? DemoRunner.defaultFixtures).cases()
                for demo in cases {
                    do { _ = try await client.request(task: demo.task, inputs: demo.inputs, timeout: .seconds(60)); answers[setting, default: (0, 0)].ok += 1 } catch { answers[setting, default: (0, 0)].failed += 1 }
                }
                read("demo")
                // The load: every demo case, `concurrency` in flight, for `throughputSeconds`.
                let end = ContinuousClock.now + .milliseconds(Int(throughputSeconds * 1000))
                let counts = await withTaskGroup(of: (Int, Int).self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var (ok, failed) = (0, 0), index = worker
                            while ContinuousClock.now < end {
                                let demo = cases[index % cases.count]
                                index += 1
                                do { _ = try await client.request(task: demo.task, inputs: demo.inputs, timeout: .seconds(60)); ok += 1 } catch { failed += 1 }
                            }
                            return (ok, failed)
                        }
                    }
                    return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
                }
                answers[setting, default: (0, 0)].ok += counts.0
                answers[setting, default: (0, 0)].failed += counts.1
                read("demo + load")
                await client.close()
            } catch {
                await running.stop()
                throw error
            }
            await running.stop()
        }
        print(Self.memoryTable(rows, answers: answers, command: memoryCommandLine))
    }

    var memoryCommandLine: String {
        "s2m3 bench cluster --memory --devices \(devices) --device-threads \(deviceThreads) --concurrency \(concurrency) "
            + "--throughput-seconds \(BenchClusterText.format(throughputSeconds, 0))"
    }

    /// `VmHWM` and `VmRSS` of a process, bytes (0 when unreadable).
    static func memory(pid: Int32) -> (peak: Int, resident: Int) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if parts.count >= 2, let kilobytes = Int(parts[1]) { return kilobytes * 1024 }
            }
            return 0
        }
        return (field("VmHWM"), field("VmRSS"))
    }

    static func memoryTable(_ rows: [MemoryRow], answers: [String: (ok: Int, failed: Int)], command: String) -> String {
        func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
        var text = "Measured with `\(command)`; peak = the device process's `VmHWM` since it started.\n\n"
        text += "| ONNX Runtime settings | after | device | budget MiB | peak MiB | peak / budget | resident MiB |\n|---|---|---|---:|---:|---:|---:|\n"
        for row in rows {
            text += "| \(row.setting) | \(row.phase) | \(row.device) | \(mib(row.budget)) | \(mib(row.peak)) | "
                + "\(String(format: "%.2f", Double(row.peak) / Double(max(row.budget, 1)))) | \(mib(row.resident)) |\n"
        }
        for (setting, count) in answers.sorted(by: { $0.key < $1.key }) {
            text += "\n\(setting): \(count.ok) requests answered, \(count.failed) failed."
        }
        return text + "\n"
    }
}
