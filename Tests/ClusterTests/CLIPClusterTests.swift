import Foundation
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// docs/own-models.md's CLIP example on a cluster: `s2m3 up` with catalog/examples/clip.json only,
/// the towers on separate agents' processes, answers equal transformers' within 1e-4.
@Suite("CLIP example on a local cluster", .serialized)
struct CLIPClusterTests {
    @Test("clip-match and clip-classify on every photo equal transformers' within 1e-4")
    func clusterEqualsTransformers() async throws {
        let example = try CLIPExample.load()
        let cluster = try await UpCluster(["--devices", "2", "--device-gflops", "100"], catalog: CLIPExample.catalogPath)
        do {
            let client = try await cluster.client()
            for (task, photo, inputs) in try example.requests() {
                let result = try await client.request(task: task, inputs: inputs, timeout: .seconds(60))
                #expect(result.task == task)
                #expect(!result.timeline.isEmpty && result.timeline.allSatisfy { $0.device.hasPrefix("box-") })
                let differences = example.differences(result, task: task, photo: photo)
                #expect(differences.isEmpty, "\(task) on \(photo): \(differences)")
            }
            await client.close()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
