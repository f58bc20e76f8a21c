import Catalog
import Inference
import Preprocessing
@testable import Runtime
import S2M3Core
import Testing
import TextReading

extension RuntimeSuites {
    /// read-text's values must each fit one MQTT packet (the broker's limit is 16 MiB): the page
    /// travels as bytes and the map as quantised bytes, and a 4K frame is scaled down first.
    @Suite("OCR values fit an MQTT packet")
    struct OCRBundleSizeTests {
        let fixture = RuntimeFixture.shared
        static let packetLimit = 16 * 1024 * 1024
        static let lines = ["INSPECTION LINE 42", "BATCH OK"]

        /// A 3840×2160 white frame with the test page scaled ×6 (nearest) into it, 420 rows down.
        func largePage() throws -> [UInt8] {
            let page = try ImageDecoder.decode(fixture.file("ocr-inspection.png"))
            let (scale, top) = (6, 420)
            return TestPNG.encode(width: 3840, height: 2160) { y, row in
                let sy = (y - top) / scale
                guard y >= top, sy < page.height else { for i in row.indices { row[i] = 255 }; return }
                for x in 0..<3840 {
                    let sx = min(page.width - 1, x / scale), from = (sy * page.width + sx) * 3
                    row[x * 3] = page.pixels[from]; row[x * 3 + 1] = page.pixels[from + 1]; row[x * 3 + 2] = page.pixels[from + 2]
                }
            }
        }

        /// Runs read-text node after node as the aggregator would, returning every node's answer and
        /// every invocation (what travels over MQTT) with the task's result.
        func runRecording(_ image: [UInt8]) async throws -> (values: [String: TensorBundle], invocations: [String: TensorBundle], result: [String: TaskOutput]) {
            let (catalog, modules) = try fixture.loaded()
            let task = try #require(catalog.tasks.first { $0.id == "read-text" })
            let binding = try TaskBinding(task: task, catalog: catalog)
            let request = try TaskRequest(requestID: "sizes", task: "read-text", inputs: ["image": .media(contentType: MediaType.png, bytes: image)]).bundle()
            var values = try binding.inputValues(request), invocations: [String: TensorBundle] = [:]
            var started: Set<String> = []
            while true {
                let ready = binding.readyNodes(available: Set(values.keys), started: started)
                guard !ready.isEmpty else { break }
                for node in ready {
                    started.insert(node.id)
                    let arguments = try binding.arguments(of: node, values: values)
                    invocations[node.id] = arguments
                    values[node.id] = try await modules.module(node.module).run(arguments)
                }
            }
            #expect(started.count == binding.nodes.count)
            return (values, invocations, try binding.result(values: values))
        }

        func expectCompact(_ image: [UInt8], page: (width: Int, height: Int)) async throws {
            let (values, invocations, result) = try await runRecording(image)
            #expect(result["lines"] == .texts(Self.lines))
            #expect(try values["page"]?.tensor("page").shape == [1, page.height, page.width, 3])
            for (node, bundle) in values.merging(invocations.map { ("→" + $0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) {
                let size = bundle.encoded().count
                #expect(size < Self.packetLimit, "\(node): \(size) bytes")
            }
        }

        @Test("read-text on the test page: every value and invocation under 16 MiB, the same lines")
        func testPage() async throws {
            try await expectCompact(try fixture.file("ocr-inspection.png"), page: (2144, 736))
        }

        @Test("read-text on a 3840×2160 frame: scaled to 1984×1120 first, every value under 16 MiB, the lines read")
        func largeFrame() async throws {
            try await expectCompact(try largePage(), page: (1984, 1120))
        }

        @Test("the quantised map gives exactly the float map's boxes (test page and 4K frame)")
        func quantisedMapKeepsBoxes() async throws {
            let (catalog, _) = try fixture.loaded()
            let session = try await InferenceSession.load(modelPath: #require(catalog.module("ocr-detect")?.filePath))
            for bytes in [try fixture.file("ocr-inspection.png"), try largePage()] {
                let image = try ImageDecoder.decode(bytes)
                let input = try TextReader.detectionInput(image)
                let map = try #require(try await session.run(inputs: ["x": input]).values.first?.float32Values)
                let (w, h) = (input.shape[3], input.shape[2])
                let exact = TextReader.boxes(map: map, mapWidth: w, mapHeight: h, image: image)
                let quantised = TextReader.boxes(map: TextReader.dequantised(TextReader.quantised(map)), mapWidth: w, mapHeight: h, image: image)
                #expect(exact.count == 2)
                #expect(quantised.map { [$0.x, $0.y, $0.width, $0.height] } == exact.map { [$0.x, $0.y, $0.width, $0.height] })
                #expect(zip(quantised, exact).allSatisfy { abs($0.score - $1.score) <= 1.0 / 510 + 1e-6 })
            }
        }
    }
}
