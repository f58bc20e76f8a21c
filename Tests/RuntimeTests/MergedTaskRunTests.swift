import Catalog
import Foundation
import Runtime
import S2M3Core
import Testing

extension RuntimeSuites {
    /// A frame's tasks as one merged graph (``MergedTasks``) on the real models: each task's
    /// outputs are what the task gives alone.
    @Suite("Merged tasks on the real models")
    struct MergedTaskRunTests {
        let fixture = RuntimeFixture.shared

        @Test("classify-image, match-image-text and describe-scene merged: shared nodes run once, results equal each task alone (1e-4)")
        func mergedEqualsAlone() async throws {
            let (catalog, modules) = try fixture.loaded()
            let ids = ["classify-image", "match-image-text", "describe-scene"]
            let merged = try MergedTasks(tasks: ids.map { id in catalog.tasks.first { $0.id == id }! }, shared: ["image"], catalog: catalog)
            let image = try fixture.image("chelsea.jpg"), audio = try fixture.audio("cmd-stop-line.wav")
            let texts = TaskInput.texts(["a cat", "a cup of espresso", "a rocket on its launch pad"])
            let inputs: [String: [String: TaskInput]] = [
                "classify-image": ["image": image],
                "match-image-text": ["image": image, "texts": texts],
                "describe-scene": ["image": image, "audio": audio],
            ]
            var mergedRequest: [String: TaskInput] = ["image": image]
            mergedRequest["match-image-text.texts"] = texts
            mergedRequest["describe-scene.audio"] = audio
            let together = try await TaskRunner(modules: modules).run(
                merged.binding, request: TaskRequest(requestID: "merged", task: MergedTasks.taskID, inputs: mergedRequest).bundle())
            #expect(together.timeline.filter { $0.module == "effnet-lite0-trunk" }.count == 1)
            #expect(together.timeline.filter { $0.module == "image-preprocess" }.count == 1)
            #expect(together.timeline.count == merged.binding.nodes.count)
            for id in ids {
                let alone = try await fixture.run(id, inputs[id]!)
                for (name, expected) in alone.outputs {
                    let got = together.outputs[name]
                    switch (got, expected) {
                    case let (.labels(a)?, .labels(b)):
                        #expect(a.map(\.label) == b.map(\.label), "\(id).\(name)")
                        for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) <= 1e-4, "\(id).\(name) \(x.label)") }
                    default:
                        #expect(got == expected, "\(id).\(name)")
                    }
                }
            }
        }
    }
}
