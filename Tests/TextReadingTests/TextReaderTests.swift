import Foundation
import Inference
import Preprocessing
import TestSupport
import Testing

@testable import TextReading

@Suite("Text reading from PP-OCR modules")
struct TextReaderTests {
    static var repo: URL { TestPaths.repository }
    static var cache: URL { TestPaths.cache }

    static func reader() async throws -> TextReader {
        let models = cache.appendingPathComponent("models")
        let keys = try #require(
            try? String(contentsOf: models.appendingPathComponent("ocr-keys.txt"), encoding: .utf8),
            "missing ocr-keys.txt in \(models.path): run scripts/setup.sh")
        var characters = keys.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if characters.last == "" { characters.removeLast() }
        let pool = InferenceThreadPool(threadCount: 1)
        func load(_ name: String) async throws -> InferenceSession {
            try await InferenceSession.load(modelPath: models.appendingPathComponent("\(name).onnx").path, threadPool: pool)
        }
        return TextReader(
            detector: try await load("ocr-detect"), orienter: try await load("ocr-orient"),
            recogniser: try await load("ocr-recognise"), characters: characters)
    }

    /// The page rapidocr reads as "INSPECTION LINE 42" / "BATCH OK" (golden ocr.json) reads the same.
    @Test(.timeLimit(.minutes(2)))
    func readsTheWordsOfTheTestPage() async throws {
        struct Golden: Decodable { let expected_lines: [String] }
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: Self.repo.appendingPathComponent("Tests/Fixtures/golden/models/ocr.json")))
        let bytes = try #require(FileManager.default.contents(atPath: Self.cache.appendingPathComponent("fixtures/ocr-inspection.png").path))
        let image = try ImageDecoder.decode([UInt8](bytes), name: "ocr-inspection.png")
        let lines = try await Self.reader().read(image)
        #expect(lines.map(\.text) == golden.expected_lines)
        #expect(lines.allSatisfy { $0.score > 0.8 })
    }

    /// rapidocr's order: longer side to 2000 first, then shorter side to 736; our own bound of 4000.
    @Test func detectionSizeKeepsPagesBounded() {
        #expect(TextReader.detectionSize(width: 640, height: 220) == (2144, 736))
        #expect(TextReader.detectionSize(width: 3840, height: 2160) == (1984, 1120))
        #expect(TextReader.detectionSize(width: 2160, height: 3840) == (1120, 1984))
        #expect(TextReader.detectionSize(width: 1000, height: 800) == (992, 800))
        #expect(TextReader.detectionSize(width: 1500, height: 1200) == (1504, 1216))
        let strip = TextReader.detectionSize(width: 2000, height: 100)
        #expect(strip.width <= TextReader.maximumDetectionSide && strip.width >= 3900 && strip.height < 736)
        #expect(TextReader.detectionSize(width: 1, height: 1) == (736, 736))
    }

    @Test func quantisedMapRoundTripsWithinHalfAStep() {
        let map: [Float] = [0, 0.3, 0.30001, 0.5, 1, 1.2, -0.1, .nan]
        let bytes = TextReader.quantised(map)
        #expect(bytes == [0, 77, 77, 128, 255, 255, 0, 0])
        let back = TextReader.dequantised(bytes)
        for (p, q) in zip(map.prefix(5), back) { #expect(abs(p - q) <= 0.5 / 255 + 1e-6) }
        let near: [Float] = [0.2975, 0.2985, 0.2999, 0.3005, 0.3015, 0.4985, 0.5015]
        #expect(TextReader.dequantised(TextReader.quantised(near)).map { $0 > 0.3 } == near.map { $0 > 0.3 })
    }

    @Test func boxFinderFindsSeparateBlobsInReadingOrder() {
        let width = 40, height = 20
        var map = [Float](repeating: 0, count: width * height)
        for y in 2..<8 { for x in 20..<35 { map[y * width + x] = 0.9 } }   // right, top
        for y in 3..<9 { for x in 2..<15 { map[y * width + x] = 0.9 } }    // left, top (same row)
        for y in 12..<18 { for x in 5..<30 { map[y * width + x] = 0.2 } }  // below threshold
        let boxes = TextBoxFinder().boxes(map: map, width: width, height: height)
        #expect(boxes.count == 2)
        #expect(boxes.first.map { $0.x < 5 } == true)
        #expect(boxes.allSatisfy { $0.score >= 0.5 })
        #expect(TextBoxFinder().boxes(map: [1, 2], width: 5, height: 5).isEmpty)
    }

    @Test func ctcMergesRepeatsAndDropsBlanks() {
        let ctc = CTCDecoder(characters: ["a", "b"])
        // Steps: a a blank a b space → "aab " ; classes: blank, a, b, space.
        let rows: [[Float]] = [[0, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        let decoded = ctc.decode(rows.flatMap { $0 }[...], steps: 6, classes: 4)
        #expect(decoded.text == "aab ")
        #expect(decoded.score == 1)
        let path = CTCDecoder.bestPath(rows.flatMap { $0 }[...], steps: 6, classes: 4)
        #expect(path.classes == [1, 1, 0, 1, 2, 3])
        // Blank steps padded on (class 0, score 1) change neither text nor score.
        let padded = ctc.decode(classes: path.classes + [0, 0, 0], scores: path.scores + [1, 1, 1])
        #expect(padded.text == decoded.text && padded.score == decoded.score)
        let soft: [Float] = [0.1, 0.7, 0.1, 0.1, 0.2, 0.2, 0.5, 0.1]
        #expect(ctc.decode(soft[...], steps: 2, classes: 4) == ctc.decode(classes: [1, 2], scores: [0.7, 0.5]))
    }
}
