import Foundation
import PlacementGenerators
import Testing
import TestSupport

@testable import S2M3Core

/// The header readers the aggregator checks limits with: right on real files, never trapping on
/// cut or random bytes.
@Suite("Media headers")
struct MediaHeaderTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let path = TestPaths.cache.appendingPathComponent("fixtures/\(name)").path
        return [UInt8](try #require(FileManager.default.contents(atPath: path), "missing fixture \(path): run scripts/setup.sh"))
    }

    @Test func realFilesGiveTheirSizes() throws {
        let chelsea = try #require(MediaHeader.imageSize(of: try Self.fixture("chelsea.jpg")))
        #expect(chelsea.width == 451 && chelsea.height == 300)
        let coffee = try #require(MediaHeader.imageSize(of: try Self.fixture("coffee.jpg")))
        #expect(coffee.width == 600 && coffee.height == 400)
        let png = try #require(MediaHeader.imageSize(of: try Self.fixture("chelsea-224.png")))
        #expect(png.width == 224 && png.height == 224)
        let wav = try #require(MediaHeader.wavFormat(of: try Self.fixture("cmd-open-gate.wav")))
        #expect(wav == MediaHeader.WAVFormat(channels: 1, sampleRate: 16_000, bitsPerSample: 16, frames: 21_002))
        #expect(abs(wav.seconds - 21_002.0 / 16_000) < 1e-9)
    }

    @Test func aWAVThatOverstatesItsDataCountsOnlyTheBytesItHas() throws {
        var wav = try Self.fixture("cmd-open-gate.wav")
        let data = try #require((0..<(wav.count - 4)).first { wav[$0..<($0 + 4)].elementsEqual("data".utf8) })
        wav.replaceSubrange((data + 4)..<(data + 8), with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(MediaHeader.wavFormat(of: wav)?.frames == 21_002)
    }

    @Test func cutAndRandomBytesNeverTrap() throws {
        let files = [try Self.fixture("chelsea.jpg"), try Self.fixture("chelsea-224.png"), try Self.fixture("cmd-open-gate.wav")]
        for file in files {
            for length in 0..<min(file.count, 600) {
                let cut = Array(file.prefix(length))
                _ = MediaHeader.imageSize(of: cut)
                _ = MediaHeader.wavFormat(of: cut)
            }
        }
        var random = SplitMix64(seed: 10)
        for _ in 0..<2_000 {
            let count = Int(random.next() % 64)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            switch random.next() % 3 {
            case 0: bytes = [0xFF, 0xD8] + bytes
            case 1: bytes = Array("RIFF\0\0\0\0WAVE".utf8) + bytes
            default: bytes = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + bytes
            }
            _ = MediaHeader.imageSize(of: bytes)
            _ = MediaHeader.wavFormat(of: bytes)
        }
    }
}
