import Foundation
import S2M3Core

/// Tensor bundles as the services send them, as seed files for libFuzzer: a request with text,
/// texts, media and tensors, an invocation and a partial result.
enum FuzzSeedBundles {
    static func write(to directory: String) throws {
        var request = TensorBundle(metadata: [BundleMetadataKey.requestID: "req-1", BundleMetadataKey.timeoutMs: "5000"])
        try request.setText("a cat", named: "text")
        try request.setTexts(["a cat", "a dog"], named: "labels")
        try request.setMedia(Array("RIFF".utf8) + [UInt8](repeating: 0, count: 40), contentType: MediaType.wav, named: "audio")
        try request.set(BundleTensor(floats: [1, -2.5, 3, 0], shape: [2, 2]), named: "features")
        try request.set(BundleTensor(int64s: [Int64.max, Int64.min], shape: [2]), named: "ids")
        let invoke = try InvokeRequest(
            requestID: "req-1", task: "classify-image", node: "pixels", module: "image-preprocess", epoch: 3,
            replyTo: "agg-1", deadlineMs: 1_765_000_000_000
        ).bundle(inputs: try TensorBundle(tensors: ["image": try BundleTensor(uint8s: [0xFF, 0xD8, 0xFF, 0xE0])]))
        let partial = try PartialResult(
            requestID: "req-1", task: "classify-image", node: "pixels", module: "image-preprocess", device: "box-1", epoch: 3,
            status: .ok, queueWaitMs: 0.5, computeMs: 12.25, receivedAtMs: 1_765_000_000_000, startedAtMs: 1_765_000_000_001,
            finishedAtMs: 1_765_000_000_013
        ).bundle(outputs: try TensorBundle(tensors: ["pixels": try BundleTensor(floats: [0.5, 0.25, 1], shape: [1, 3])]))
        for (name, bundle) in [("request", request), ("invoke", invoke), ("partial", partial)] {
            try Data(bundle.encoded()).write(to: URL(fileURLWithPath: directory).appendingPathComponent("bundle-\(name).safetensors"))
        }
    }
}
