import Catalog
import Foundation
import Inference
import Runtime
import S2M3Core
import Testing

extension RuntimeSuites {
    /// Bad input gives a typed ``ModuleError`` naming the input, never a crash.
    @Suite("Module errors on bad input and bad files")
    struct ModuleErrorTests {
        let fixture = RuntimeFixture.shared

        func module(_ id: String) async throws -> any LoadedModule {
            try await fixture.loaded().1.module(id)
        }

        func expectError(
            _ code: ModuleError.Code, input: String?, _ body: () async throws(ModuleError) -> Void,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async {
            do {
                try await body()
                Issue.record("no error; expected \(code)", sourceLocation: sourceLocation)
            } catch {
                #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
                #expect(error.input == input, "\(error)", sourceLocation: sourceLocation)
            }
        }

        /// A 16 kHz mono PCM16 WAV.
        static func wav(_ samples: [Int16], rate: UInt32 = 16_000) -> [UInt8] {
            func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
            let data = samples.flatMap { le($0) }
            return Array("RIFF".utf8) + le(UInt32(36 + data.count)) + Array("WAVEfmt ".utf8) + le(UInt32(16)) + le(UInt16(1)) + le(UInt16(1))
                + le(rate) + le(rate * 2) + le(UInt16(2)) + le(UInt16(16)) + Array("data".utf8) + le(UInt32(data.count)) + data
        }

        @Test("a corrupt JPEG: classify-image fails at node 'pixels' with badInput naming 'file'")
        func corruptJPEG() async throws {
            var bytes = try fixture.file("chelsea.jpg")
            bytes = Array(bytes.prefix(600)) + [UInt8](repeating: 0x5A, count: 400)
            do {
                _ = try await fixture.run("classify-image", ["image": .media(contentType: MediaType.jpeg, bytes: bytes)])
                Issue.record("a corrupt JPEG was accepted")
            } catch let error as TaskRunError {
                #expect(error.node == "pixels")
                #expect(error.moduleError?.code == .badInput && error.moduleError?.input == "file", "\(error)")
            }
        }

        @Test("garbage as an image for OCR is badInput naming 'file'")
        func garbageImage() async throws {
            let page = try await module("ocr-preprocess")
            var bundle = TensorBundle()
            try bundle.setMedia(Array("not an image at all".utf8), contentType: MediaType.png, named: "file")
            await expectError(.badInput, input: "file") { () throws(ModuleError) in _ = try await page.run(bundle) }
        }

        @Test("empty and non-WAV audio are badInput naming 'file'")
        func badAudio() async throws {
            let decode = try await module("wav-decode")
            for bytes in [[], Array("RIFF? no, just text pretending to be audio".utf8), Self.wav([])] {
                var bundle = TensorBundle()
                try bundle.setMedia(bytes, contentType: MediaType.wav, named: "file")
                await expectError(.badInput, input: "file") { () throws(ModuleError) in _ = try await decode.run(bundle) }
            }
        }

        @Test("silence gives an empty transcript (the VAD hears no speech)")
        func silence() async throws {
            let audio = TaskInput.media(contentType: MediaType.wav, bytes: Self.wav([Int16](repeating: 0, count: 16_000)))
            let result = try await fixture.run("transcribe", ["audio": audio])
            #expect(result.outputs["transcript"] == .text(""))
        }

        @Test("wrong dtype or shape is wrongInput naming the input, for ONNX and built-in modules")
        func wrongDTypeOrShape() async throws {
            let trunk = try await module("effnet-lite0-trunk")
            var ints = TensorBundle()
            try ints.set(BundleTensor(int64s: [Int64](repeating: 0, count: 3 * 224 * 224), shape: [1, 3, 224, 224]), named: "image")
            await expectError(.wrongInput, input: "image") { () throws(ModuleError) in _ = try await trunk.run(ints) }
            var small = TensorBundle()
            try small.set(BundleTensor(floats: [Float](repeating: 0, count: 3 * 100 * 100), shape: [1, 3, 100, 100]), named: "image")
            await expectError(.wrongInput, input: "image") { () throws(ModuleError) in _ = try await trunk.run(small) }
            let top = try await module("top-k")
            var logits = TensorBundle()
            try logits.set(BundleTensor(floats: [1, 2, 3], shape: [1, 3]), named: "logits")
            await expectError(.wrongInput, input: "logits") { () throws(ModuleError) in _ = try await top.run(logits) }
            let decoder = try await module("whisper-tiny-decoder")
            await expectError(.missingInput, input: "features") { () throws(ModuleError) in _ = try await decoder.run(TensorBundle()) }
        }

        @Test("a missing model file is missingFile; a changed one digestMismatch; a missing asset missingFile")
        func badFiles() async throws {
            let directory = NSTemporaryDirectory() + "runtime-tests-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            for name in ["imagenet-head.onnx", "imagenet-labels.txt"] {
                try FileManager.default.copyItem(atPath: fixture.modelsDirectory + "/" + name, toPath: directory + "/" + name)
            }
            let (full, _) = try fixture.loaded()
            let head = try #require(full.module("imagenet-head")), top = try #require(full.module("top-k"))
            func entry(_ m: ModuleManifest, file: String?, assets: [String]?) -> ModuleEntry {
                ModuleEntry(id: m.id, kind: m.kind, file: file, assets: assets, inputs: m.inputs, outputs: m.outputs)
            }
            let document = CatalogDocument(
                modules: [entry(head, file: "imagenet-head.onnx", assets: nil), entry(top, file: nil, assets: ["imagenet-labels.txt"])], tasks: [])
            let catalog = try ModuleCatalog(document: document, modelsDirectory: directory)
            let loader = ModuleLoader(catalog: catalog, modelsDirectory: directory)

            try FileManager.default.removeItem(atPath: directory + "/imagenet-labels.txt")
            await expectError(.missingFile, input: directory + "/imagenet-labels.txt") { () throws(ModuleError) in _ = try await loader.load("top-k") }
            try FileManager.default.removeItem(atPath: directory + "/imagenet-head.onnx")
            await expectError(.missingFile, input: directory + "/imagenet-head.onnx") { () throws(ModuleError) in _ = try await loader.load("imagenet-head") }
            try FileManager.default.copyItem(atPath: fixture.modelsDirectory + "/ocr-orient.onnx", toPath: directory + "/imagenet-head.onnx")
            await expectError(.digestMismatch, input: directory + "/imagenet-head.onnx") { () throws(ModuleError) in _ = try await loader.load("imagenet-head") }
            await expectError(.unknownModule, input: nil) { () throws(ModuleError) in _ = try await loader.load("no-such-module") }
        }
    }
}
