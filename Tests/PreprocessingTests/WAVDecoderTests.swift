import Foundation
import Preprocessing
import Testing

@Suite("WAV decoding")
struct WAVDecoderTests {
    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    @Test func float32StereoIsAveragedToMono() throws {
        let frames: [(Float, Float)] = [(0.5, -0.5), (1, 0), (-0.25, -0.75)]
        let data = frames.flatMap { le32($0.0.bitPattern) + le32($0.1.bitPattern) }
        let signal = try WAVDecoder.decode(TestSignals.wav(formatTag: 3, channels: 2, rate: 8000, bits: 32, data: data))
        #expect(signal == AudioSignal(sampleRate: 8000, samples: [0, 0.5, -0.5]))
    }

    @Test func pcm24And8AndExtensible() throws {
        // 24-bit: 0x400000 = 0.5, 0xC00000 = -0.5.
        let pcm24 = try WAVDecoder.decode(TestSignals.wav(channels: 1, rate: 16_000, bits: 24, data: [0, 0, 0x40, 0, 0, 0xC0]))
        #expect(pcm24.samples == [0.5, -0.5])
        let pcm8 = try WAVDecoder.decode(TestSignals.wav(channels: 1, rate: 16_000, bits: 8, data: [128, 192, 64]))
        #expect(pcm8.samples == [0, 0.5, -0.5])
        let extensible = try WAVDecoder.decode(
            TestSignals.wav(channels: 1, rate: 48_000, bits: 16, data: [0x00, 0x40, 0x00, 0x80], extensible: true))
        #expect(extensible == AudioSignal(sampleRate: 48_000, samples: [0.5, -1]))
    }

    @Test func impossibleRatesAreRefused() {
        #expect(throws: PreprocessingError.self) { try AudioSignal(sampleRate: 0, samples: [1]).resampled(to: 16_000) }
        #expect(throws: PreprocessingError.self) { try AudioResampler(from: 16_000, to: -1) }
    }

    @Test func resamplingKeepsDurationAndTone() throws {
        // A 1 kHz tone at 48 kHz, resampled to 16 kHz: same duration, same peak, same zero crossings.
        let tone = (0..<4800).map { Float(sin(2 * Double.pi * 1000 * Double($0) / 48_000) * 0.5) }
        let out = try AudioSignal(sampleRate: 48_000, samples: tone).resampled(to: 16_000)
        #expect(out.samples.count == 1600)
        let middle = out.samples[200..<1400]
        #expect(abs(middle.max()! - 0.5) < 0.01)
        for (i, v) in middle.enumerated() {
            let expected = Float(sin(2 * Double.pi * 1000 * Double(i + 200) / 16_000) * 0.5)
            #expect(abs(v - expected) < 0.01)
        }
    }
}

@Suite("Bad audio gives typed errors naming the input")
struct AudioErrorTests {
    private func code(_ bytes: [UInt8], name: String = "clip.wav") -> PreprocessingError.Code? {
        do {
            _ = try WAVDecoder.decode(bytes, name: name)
        } catch {
            #expect(error.input == name, "the error names the input")
            #expect(error.description.contains(name))
            return error.code
        }
        return nil
    }

    @Test func emptyFile() { #expect(code([]) == .emptyInput) }

    @Test func notAWAV() throws {
        #expect(code(Array("ID3\u{3}this is an mp3, not a wav".utf8), name: "song.mp3") == .notWAV)
        #expect(code(try Fixtures.bytes("chelsea.png"), name: "cat.png") == .notWAV)
        #expect(code(Array("RIFF....AVI LIST".utf8), name: "movie.avi") == .notWAV)
    }

    @Test func headerWithoutSamples() {
        #expect(code(TestSignals.wav(channels: 1, rate: 16_000, bits: 16, data: [])) == .emptyInput)
        #expect(code(TestSignals.wav(channels: 2, rate: 16_000, bits: 16, data: [1, 2])) == .emptyInput, "half a frame")
    }

    @Test func unsupportedEncodings() {
        #expect(code(TestSignals.wav(formatTag: 6, channels: 1, rate: 8000, bits: 8, data: [1, 2])) == .unsupportedAudio)  // A-law
        #expect(code(TestSignals.wav(formatTag: 3, channels: 1, rate: 8000, bits: 16, data: [1, 2])) == .unsupportedAudio)
    }

    @Test func damagedStructure() {
        let good = TestSignals.wav(channels: 1, rate: 16_000, bits: 16, data: [0, 0, 1, 0])
        #expect(code(Array(good[0..<30])) == .corruptAudio, "cut inside the fmt chunk")
        var noData = Array(good[0..<36])
        noData[4] = 28
        #expect(code(noData) == .corruptAudio, "no data chunk")
        let dataFirst = Array("RIFF".utf8) + [12, 0, 0, 0] + Array("WAVE".utf8) + Array("data".utf8) + [0, 0, 0, 0]
        #expect(code(dataFirst) == .corruptAudio, "data before fmt")
    }
}
