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

/// Headers an attacker wrote (issue 10): each is refused before anything is allocated.
@Suite("Hostile WAV headers")
struct HostileWAVTests {
    /// The 48-byte file that made a device allocate 137 GB: sample rate 0xFFFFFFFF.
    static let rateFFFFFFFF: [UInt8] = Array("RIFF(\0\0\0WAVEfmt \u{10}\0\0\0\u{1}\0\u{1}\0".utf8)
        + [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x10, 0x00]
        + Array("data".utf8) + [0x04, 0, 0, 0, 0x10, 0, 0x10, 0]

    private func error(_ bytes: [UInt8], maxSeconds: Double = WAVDecoder.defaultMaxSeconds) -> PreprocessingError? {
        do {
            _ = try WAVDecoder.decode(bytes, name: "clip.wav", maxSeconds: maxSeconds)
        } catch {
            return error
        }
        return nil
    }

    @Test func sampleRateFFFFFFFFIsRefusedNamingTheRate() throws {
        #expect(Self.rateFFFFFFFF.count == 48)
        let refused = try #require(error(Self.rateFFFFFFFF))
        #expect(refused.code == .corruptAudio)
        #expect(refused.message.contains("4294967295 Hz") && refused.message.contains("384000"))
    }

    @Test func ratesAndChannelsOutOfRange() {
        #expect(error(TestSignals.wav(channels: 1, rate: 999, bits: 16, data: [0, 0]))?.code == .corruptAudio)
        #expect(error(TestSignals.wav(channels: 1, rate: 384_001, bits: 16, data: [0, 0]))?.code == .corruptAudio)
        #expect(error(TestSignals.wav(channels: 0, rate: 16_000, bits: 16, data: [0, 0]))?.code == .corruptAudio)
        #expect(error(TestSignals.wav(channels: 65, rate: 16_000, bits: 8, data: [UInt8](repeating: 128, count: 65)))?.code == .corruptAudio)
        #expect(error(TestSignals.wav(channels: 1, rate: 384_000, bits: 16, data: [0, 0])) == nil, "the top rate is accepted")
    }

    @Test func moreAudioThanTheLimitIsRefusedBeforeDecoding() {
        let twoSeconds = TestSignals.wav(channels: 1, rate: 8_000, bits: 8, data: [UInt8](repeating: 128, count: 16_000))
        #expect(error(twoSeconds, maxSeconds: 2) == nil)
        let refused = error(twoSeconds, maxSeconds: 1.5)
        #expect(refused?.code == .tooLarge && refused?.message.contains("limit is 1 s") == true)
    }

    @Test func overstatedDataSizeReadsOnlyWhatTheFileHolds() throws {
        var wav = TestSignals.wav(channels: 1, rate: 16_000, bits: 16, data: [0, 0x40, 0, 0xC0])
        let data = try #require((0..<(wav.count - 4)).first { wav[$0..<($0 + 4)].elementsEqual("data".utf8) })
        wav.replaceSubrange((data + 4)..<(data + 8), with: [0xFF, 0xFF, 0xFF, 0xFF])  // data size 4 GiB
        #expect(try WAVDecoder.decode(wav).samples == [0.5, -0.5])
    }

    @Test func nanAndInfinitySamplesAreRefused() {
        for bad in [Float.nan, .infinity, -.infinity] {
            let data = [Float(0.5), bad].flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
            let refused = error(TestSignals.wav(formatTag: 3, channels: 1, rate: 16_000, bits: 32, data: data))
            #expect(refused?.code == .corruptAudio && refused?.message.contains("sample 1") == true, "\(bad)")
        }
    }

    @Test func resamplingRatioThatNeedsAHugeFilterIsRefused() throws {
        #expect {
            try AudioResampler(from: 383_999, to: 16_000)
        } throws: { ($0 as? PreprocessingError)?.code == .unsupportedAudio }
        // Every common rate stays well inside the bound.
        for rate in [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000, 352_800, 384_000] {
            #expect(throws: Never.self) { try AudioResampler(from: rate, to: 16_000) }
        }
    }
}
