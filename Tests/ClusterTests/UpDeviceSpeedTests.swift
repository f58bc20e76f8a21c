import Foundation
import S2M3Core
import TestSupport
import Testing

/// `s2m3 up` without `--device-gflops`: its devices share this machine's CPU, so `up` measures the
/// speed once before starting them and every device announces that one figure (calibrated by
/// each device while the others started, two devices once announced 61.7 and 102.9 GFLOP/s, and
/// the planner loaded the "faster" one; docs/benchmarks.md, "What limits it").
@Suite("s2m3 up: one measured speed for its devices", .serialized)
struct UpDeviceSpeedTests {
    @Test("every device of a local cluster announces the same measured speed", .timeLimit(.minutes(5)))
    func devicesAnnounceOneMeasuredSpeed() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--no-restart"], catalog: CLIPExample.catalogPath)
        do {
            let connection = cluster.connection("speed-probe")
            try await connection.connect()
            let messages = connection.messages
            try await connection.subscribe(Topics().allDeviceCapabilities)
            var speeds: [String: Double] = [:]
            for await message in messages where !message.payload.isEmpty {
                let capabilities = try DeviceCapabilities(json: message.payload)
                speeds[capabilities.device] = capabilities.computeGflops
                if speeds.count == 2 { break }
            }
            await connection.disconnect()
            #expect(Set(speeds.keys) == ["box-1", "box-2"])
            #expect(Set(speeds.values).count == 1, "\(speeds)")
            #expect(speeds.values.allSatisfy { $0 > 0 && $0.isFinite }, "\(speeds)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
