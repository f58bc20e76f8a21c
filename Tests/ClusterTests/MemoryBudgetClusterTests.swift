import Foundation
import S2M3Core
import TestSupport
import Testing

/// Memory budgets that hold: `s2m3 up` with its default budgets (module figures that include their
/// working sets, plus the agents' own footprint), one request per task twice over, then every
/// device's peak resident memory since it started (`VmHWM`, read from /proc and as its telemetry
/// reports it) is at most its budget.
@Suite("Memory budgets hold (real cluster)", .serialized)
struct MemoryBudgetClusterTests {
    @Test("every device's peak resident memory stays within its budget", .timeLimit(.minutes(10)))
    func peaksStayWithinBudgets() async throws {
        let cluster = try await UpCluster(["--devices", "3", "--device-gflops", "100"])
        do {
            let budget = cluster.report.budget
            let client = try await cluster.client()
            var answered = 0
            for _ in 0..<2 {
                for (task, inputs) in try ClusterTests.requests() {
                    do {
                        _ = try await client.request(task: task, inputs: inputs, timeout: .seconds(60))
                        answered += 1
                    } catch {
                        Issue.record("\(task): \(error)")
                    }
                }
            }
            await client.close()
            #expect(answered == 12)
            for device in cluster.report.devices {
                let pid = try #require(cluster.pids[device])
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                let peak = try #require(Self.kilobytes("VmHWM", in: status)) * 1024
                #expect(peak > 30 << 20, "\(device): a device with ONNX Runtime and models is more than 30 MiB")
                #expect(peak <= budget, "\(device): peak \(peak >> 20) MiB over its budget \(budget >> 20) MiB (logs \(cluster.logs))")
            }
            // The same figure in telemetry, against the budget it reports.
            let telemetry = try await Self.telemetry(cluster, devices: cluster.report.devices)
            for (device, message) in telemetry {
                #expect(message.memoryBudgetBytes == budget, "\(device)")
                let peak = try #require(message.peakResidentMemoryBytes, "\(device): no peak in telemetry")
                #expect(peak >= message.residentMemoryBytes && peak <= budget, "\(device): \(message)")
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func kilobytes(_ field: String, in status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2 { return Int(parts[1]) }
        }
        return nil
    }

    /// One telemetry message of each device.
    static func telemetry(_ cluster: UpCluster, devices: [String]) async throws -> [String: DeviceTelemetry] {
        let connection = cluster.connection("memory-telemetry")
        try await connection.connect()
        let messages = connection.messages
        let topics = Topics(root: cluster.report.root)
        for device in devices { try await connection.subscribe(topics.deviceTelemetry(device)) }
        let found = try await within(.seconds(20), "telemetry of every device") {
            var found: [String: DeviceTelemetry] = [:]
            for await message in messages {
                guard let telemetry = try? DeviceTelemetry(json: message.payload) else { continue }
                found[telemetry.device] = telemetry
                if found.count == devices.count { break }
            }
            return found
        }
        await connection.disconnect()
        return found
    }
}
