import Catalog
import Foundation
import S2M3Core
import TestSupport
import Testing

extension RuntimeSuites {
    /// docs/own-models.md's worked example: a CLIP added by catalog entries only
    /// (catalog/examples/clip.json), run by `s2m3 run`, equals transformers (image through
    /// CLIPImageProcessor, text through CLIPTokenizer) within 1e-4 on photos of several sizes.
    @Suite("CLIP example by catalog entries only")
    struct CLIPExampleTests {
        let models = TestPaths.cache.appendingPathComponent("models").path

        @Test("the towers are ONNX files with their weights in external .onnx.data files, and the catalog loads")
        func externalWeightsAndCatalog() throws {
            for name in ["clip-vision", "clip-text", "clip-logits"] {
                let graph = try FileManager.default.attributesOfItem(atPath: "\(models)/clip-example/\(name).onnx")[.size] as? Int ?? 0
                let data = try FileManager.default.attributesOfItem(atPath: "\(models)/clip-example/\(name).onnx.data")[.size] as? Int ?? 0
                #expect(graph > 0 && data > 0, "\(name)")
            }
            let catalog = try ModuleCatalog.load(path: CLIPExample.catalogPath, modelsDirectory: models)
            #expect(Set(catalog.tasks.map(\.id)) == ["clip-match", "clip-classify"])
        }

        @Test("a text too long to tokenise is badInput naming the input; nothing runs")
        func overlongTextIsBadInput() async throws {
            let outcome = try await S2M3Run.run([
                "run", "clip-match", "--image", TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg").path,
                "--text", String(repeating: "a", count: 20_000), "--text", "a cat",
                "--catalog", CLIPExample.catalogPath, "--models", models,
            ])
            #expect(outcome.status != 0)
            #expect(outcome.output.contains("badInput") && outcome.output.contains("text"), "\(outcome.output)")
        }

        @Test("s2m3 run: embeddings, cosines and probabilities equal transformers' within 1e-4 on every photo")
        func runEqualsTransformers() async throws {
            let example = try CLIPExample.load()
            for (task, photo, _) in try example.requests() {
                var arguments = ["run", task, "--image", TestPaths.cache.appendingPathComponent("fixtures/\(photo)").path, "--json",
                                 "--catalog", CLIPExample.catalogPath, "--models", models]
                for caption in example.captions { arguments += ["--text", caption] }
                let outcome = try await S2M3Run.run(arguments)
                #expect(outcome.status == 0, "\(outcome.output)")
                let json = outcome.output.drop { $0 != "{" }
                let result = try JSONDecoder().decode(TaskResult.self, from: Data(json.utf8))
                let differences = example.differences(result, task: task, photo: photo)
                #expect(differences.isEmpty, "\(task) on \(photo): \(differences)")
            }
        }
    }
}
