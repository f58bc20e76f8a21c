import Testing

@testable import S2M3Core

/// ``MJPEGSplitter``: concatenated JPEG files in arbitrary chunks → the files.
@Suite("MJPEG splitter")
struct MJPEGSplitterTests {
    static func jpeg(_ fill: UInt8, _ count: Int) -> [UInt8] { [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: fill, count: count) + [0xFF, 0xD9] }

    @Test func splitsAcrossChunkBoundaries() {
        let frames = [Self.jpeg(1, 10), Self.jpeg(2, 3), Self.jpeg(3, 50)]
        let stream = [0x00, 0xFF] + frames.joined() + [0xFF, 0xD8, 0x07]  // junk before, a partial frame after
        for chunk in [1, 2, 7, 1000] {
            var splitter = MJPEGSplitter()
            var out: [[UInt8]] = []
            var index = 0
            while index < stream.count {
                out += splitter.feed(stream[index..<min(stream.count, index + chunk)])
                index += chunk
            }
            #expect(out == frames, "chunks of \(chunk)")
        }
    }

    @Test func dropsOversizedFrames() {
        var splitter = MJPEGSplitter(maxFrameBytes: 20)
        let out = splitter.feed(Self.jpeg(1, 40) + Self.jpeg(2, 4))
        #expect(out == [Self.jpeg(2, 4)])
        #expect(splitter.discarded == 1)
    }
}
