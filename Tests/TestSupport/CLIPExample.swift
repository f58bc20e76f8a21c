import Foundation
import S2M3Core

/// The bring-your-own-model example (docs/own-models.md): `catalog/examples/clip.json` on the tiny CLIP
/// of scripts/setup.d/25-clip-example.sh, and transformers' embeddings and scores for it
/// (`<cache>/models/clip-example/clip-reference.json`).
public struct CLIPExample: Decodable, Sendable {
    public struct Photo: Decodable, Sendable {
        public let image_embeds: [Double]
        /// Cosine of the photo with each caption, in caption order.
        public let cosines: [Double]
        /// `CLIPModel(...).logits_per_image.softmax(-1)`, in caption order.
        public let probabilities: [Double]
    }

    public let captions: [String]
    public let text_embeds: [[Double]]
    public let photos: [String: Photo]

    public static let catalogPath = TestPaths.repository.appendingPathComponent("catalog/examples/clip.json").path

    public static func load() throws -> CLIPExample {
        let path = TestPaths.cache.appendingPathComponent("models/clip-example/clip-reference.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIPExampleError(description: "missing \(path): run scripts/setup.sh (with the same S2M3_CACHE)")
        }
        return try JSONDecoder().decode(CLIPExample.self, from: data)
    }

    /// One `clip-match` and one `clip-classify` request per photo (every reference photo, any size).
    public func requests() throws -> [(task: String, photo: String, inputs: [String: TaskInput])] {
        try photos.keys.sorted().flatMap { name in
            let path = TestPaths.cache.appendingPathComponent("fixtures/\(name)").path
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIPExampleError(description: "missing fixture \(path): run scripts/setup.sh")
            }
            let bytes = [UInt8](data)
            let image = TaskInput.media(contentType: MediaType.sniff(bytes) ?? MediaType.jpeg, bytes: bytes)
            return [("clip-match", name, ["image": image, "texts": .texts(captions)]),
                    ("clip-classify", name, ["image": image, "labels": .texts(captions)])]
        }
    }

    /// How `result` (of `task` on `photo`) differs from transformers' by more than `tolerance`:
    /// embeddings, cosines (`clip-match`) or probabilities (`clip-classify`), and the ranking.
    public func differences(_ result: TaskResult, task: String, photo: String, tolerance: Double = 1e-4) -> [String] {
        guard let expected = photos[photo] else { return ["no reference for \(photo)"] }
        var problems: [String] = []
        func compare(_ name: String, _ got: [Double], _ want: [Double]) {
            guard got.count == want.count else { problems.append("\(name): \(got.count) values, expected \(want.count)"); return }
            let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
            if !(worst <= tolerance) { problems.append("\(name): differs by \(worst)") }
        }
        let (scoresNode, reference) = task == "clip-match" ? ("match", expected.cosines) : ("classes", expected.probabilities)
        guard case .labels(let ranked)? = result.outputs[scoresNode] else { return ["no labels in output '\(scoresNode)'"] }
        // Scores by caption, and the ranking best first.
        compare("\(photo) \(scoresNode)", captions.map { caption in ranked.first { $0.label == caption }?.score ?? .nan }, reference)
        let order = captions.indices.sorted { reference[$0] > reference[$1] }.map { captions[$0] }
        if ranked.map(\.label) != order { problems.append("\(photo) ranking \(ranked.map(\.label)), expected \(order)") }
        if task == "clip-match" {
            guard case .embedding(let image)? = result.outputs["image_embeds"], case .embedding(let text)? = result.outputs["text_embeds"] else {
                return problems + ["no image_embeds or text_embeds output"]
            }
            compare("\(photo) image_embeds", image.map(Double.init), expected.image_embeds)
            compare("text_embeds", text.map(Double.init), text_embeds.flatMap { $0 })
        }
        return problems
    }
}

public struct CLIPExampleError: Error, CustomStringConvertible {
    public let description: String
}
