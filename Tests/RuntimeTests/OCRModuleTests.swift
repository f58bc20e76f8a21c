import Catalog
import Inference
import Preprocessing
@testable import Runtime
import S2M3Core
import Testing
import TextReading

extension RuntimeSuites {
    /// The OCR modules one by one: the same lines as ``TextReader``, and upside-down lines turned back.
    @Suite("OCR modules")
    struct OCRModuleTests {
        let fixture = RuntimeFixture.shared

        func module(_ id: String) async throws -> any LoadedModule {
            try await fixture.loaded().1.module(id)
        }

        /// `ocr-preprocess` → `ocr-detect` → `ocr-crop` on the test page.
        func crops() async throws -> TensorBundle {
            let bytes = try fixture.file("ocr-inspection.png")
            var file = TensorBundle()
            try file.setMedia(bytes, contentType: MediaType.png, named: "file")
            let page = try await module("ocr-preprocess").run(file)
            let map = try await module("ocr-detect").run(page)
            var cropInput = file
            try cropInput.set(map.tensor("map"), named: "map")
            return try await module("ocr-crop").run(cropInput)
        }

        @Test("read-text gives the lines TextReader reads on the same page")
        func sameLinesAsTextReader() async throws {
            let (catalog, _) = try fixture.loaded()
            func session(_ id: String) async throws -> InferenceSession {
                try await InferenceSession.load(modelPath: #require(catalog.module(id)?.filePath))
            }
            var characters = String(decoding: try fixture.file("../models/ocr-keys.txt"), as: UTF8.self)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if characters.last == "" { characters.removeLast() }
            let reader = TextReader(
                detector: try await session("ocr-detect"), orienter: try await session("ocr-orient"),
                recogniser: try await session("ocr-recognise"), characters: characters)
            let expected = try await reader.read(ImageDecoder.decode(fixture.file("ocr-inspection.png"))).map(\.text)
            let result = try await fixture.run("read-text", ["image": fixture.image("ocr-inspection.png")])
            #expect(expected == ["INSPECTION LINE 42", "BATCH OK"])
            #expect(result.outputs["lines"] == .texts(expected))
        }

        @Test("ocr-orient turns upside-down lines back exactly; the recogniser then reads them")
        func upsideDownLinesAreTurned() async throws {
            let upright = try await crops()
            let widths = try upright.tensor("widths").int64s()
            try #require(widths.count == 2)
            var x = try upright.tensor("x").floats(), crops = try upright.tensor("crops").uint8s()
            let xShape = try upright.tensor("x").shape, shape = try upright.tensor("crops").shape
            #expect(shape == [2, 48, shape[2], 3])
            for row in 0..<widths.count {
                CropRows.rotate180(&crops, shape: shape, index: row, width: Int(widths[row]))
                Self.rotate180(&x, shape: xShape, index: row, width: min(192, Int(widths[row])))
            }
            #expect(crops != (try upright.tensor("crops").uint8s()))
            var turned = TensorBundle()
            try turned.set(BundleTensor(floats: x, shape: xShape), named: "x")
            try turned.set(BundleTensor(uint8s: crops, shape: shape), named: "crops")
            try turned.set(upright.tensor("widths"), named: "widths")
            let oriented = try await module("ocr-orient").run(turned)
            #expect(try oriented.tensor("crops").uint8s() == upright.tensor("crops").uint8s())
            let probabilities = try await module("ocr-recognise").run(oriented)
            let lines = try await module("ctc-decode").run(probabilities)
            #expect(try lines.texts("lines") == ["INSPECTION LINE 42", "BATCH OK"])
        }

        /// Turns row `index`'s first `width` columns of a float [N, 3, 48, W] tensor by 180° in place.
        static func rotate180(_ values: inout [Float], shape: [Int], index: Int, width: Int) {
            let (channels, height, stride) = (shape[1], shape[2], shape[3])
            let base = index * channels * height * stride
            for c in 0..<channels {
                let plane = base + c * height * stride
                var pixels: [Float] = []
                for y in 0..<height { pixels += values[(plane + y * stride)..<(plane + y * stride + width)] }
                pixels.reverse()
                for y in 0..<height {
                    for x in 0..<width { values[plane + y * stride + x] = pixels[y * width + x] }
                }
            }
        }

        @Test("the recogniser's input from crop bytes is exactly TextReader's float input")
        func cropBytesNormaliseExactly() async throws {
            let upright = try await crops()
            let widths = try upright.tensor("widths").int64s(), shape = try upright.tensor("crops").shape
            let bytes = try upright.tensor("crops").uint8s()
            for (row, width) in widths.enumerated() {
                let w = Int(width)
                var pixels: [UInt8] = []
                for y in 0..<48 {
                    let start: Int = (row * 48 + y) * shape[2] * 3
                    pixels += bytes[start..<(start + w * 3)]
                }
                let line = try RGBImage(width: w, height: 48, pixels: pixels)
                let expected = try TextReader.bgrTensor(line, paddedWidth: TextReader.recognitionPaddedWidth(w)).float32Values
                #expect(CropRows.normalised(bytes, shape: shape, index: row, width: w, paddedWidth: TextReader.recognitionPaddedWidth(w)) == expected)
            }
        }

        @Test("a page or map of the wrong shape is wrongInput naming it")
        func wrongShapes() async throws {
            var page = TensorBundle()
            try page.set(BundleTensor(uint8s: [UInt8](repeating: 9, count: 32 * 32 * 3), shape: [1, 3, 32, 32]), named: "page")
            await #expect(throws: ModuleError.self) { try await module("ocr-detect").run(page) }
            do {
                _ = try await module("ocr-detect").run(page)
            } catch let error as ModuleError {
                #expect(error.code == .wrongInput && error.input == "page", "\(error)")
            }
            var crop = TensorBundle()
            try crop.setMedia(try fixture.file("ocr-inspection.png"), contentType: MediaType.png, named: "file")
            try crop.set(BundleTensor(uint8s: [UInt8](repeating: 0, count: 12), shape: [1, 2, 3, 2]), named: "map")
            do {
                _ = try await module("ocr-crop").run(crop)
                Issue.record("a [1,2,3,2] map was accepted")
            } catch let error as ModuleError {
                #expect(error.code == .wrongInput && error.input == "map", "\(error)")
            }
        }

        @Test("no text boxes: empty crops flow through to no lines")
        func blankPage() async throws {
            var empty = TensorBundle()
            try empty.set(BundleTensor(floats: [], shape: [0, 3, 48, 192]), named: "x")
            try empty.set(BundleTensor(uint8s: [], shape: [0, 48, 0, 3]), named: "crops")
            try empty.set(BundleTensor(int64s: [], shape: [0]), named: "widths")
            let oriented = try await module("ocr-orient").run(empty)
            let probabilities = try await module("ocr-recognise").run(oriented)
            #expect(try probabilities.tensor("classes").shape.first == 0)
            #expect(try probabilities.tensor("scores").shape.first == 0)
            let lines = try await module("ctc-decode").run(probabilities)
            #expect(try lines.texts("lines") == [])
        }
    }
}
