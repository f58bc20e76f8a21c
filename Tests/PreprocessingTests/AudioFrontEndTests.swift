import Foundation
import Inference
import Preprocessing
import Testing

private struct AudioGolden: Decodable {
    struct Filter: Decodable { let start: Int; let weights: [Float] }
    struct LogMel: Decodable { let shape: [Int]; let sum: Double; let min: Float; let max: Float; let sample_stride: Int; let sample: [Float] }
    struct Resampled: Decodable { let count: Int; let sample_stride: Int; let sample: [Float] }
    struct Speech: Decodable {
        let file_fnv1a64: String; let rate: Int; let count: Int; let resampled_count: Int
        let resampled_sample_stride: Int; let resampled_sample: [Float]; let logmel: LogMel
    }
    let signals: [String: TestSignals.Definition]
    let mel_filters_80: [Filter]
    let tones16k_pcm_fnv1a64: String
    let tones16k_logmel: LogMel
    let stereo44k_resampled: Resampled
    let speech: Speech
}

/// Tolerances (documented in the golden file): log-mel 1e-4 absolute (measured 1.3e-5: float32 torch
/// against float64 here), resampled samples 1e-6 (measured 3e-8), mel filters exact.
@Suite("Audio front end matches Whisper and SciPy")
struct AudioFrontEndTests {
    private let golden: AudioGolden

    init() throws { golden = try Fixtures.golden("audio.json", as: AudioGolden.self) }

    private func expectClose(_ actual: Tensor, _ expected: AudioGolden.LogMel, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(actual.shape == expected.shape, sourceLocation: sourceLocation)
        let values = try #require(actual.float32Values)
        let sample = Fixtures.strided(values, expected.sample_stride)
        try #require(sample.count == expected.sample.count, sourceLocation: sourceLocation)
        let worst = zip(sample, expected.sample).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "largest log-mel difference \(worst)", sourceLocation: sourceLocation)
        #expect(abs(values.min()! - expected.min) < 1e-4 && abs(values.max()! - expected.max) < 1e-4, sourceLocation: sourceLocation)
        let sum = values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - expected.sum) / Double(values.count) < 2e-5, sourceLocation: sourceLocation)
    }

    @Test func melFiltersEqualWhispersAsset() {
        let bank = MelFilterbank(sampleRate: 16_000, fftSize: 400, melBins: 80)
        #expect(bank.filters.count == golden.mel_filters_80.count)
        for (mine, theirs) in zip(bank.filters, golden.mel_filters_80) {
            #expect(mine.start == theirs.start)
            #expect(mine.weights.count == theirs.weights.count)
            let worst = zip(mine.weights, theirs.weights).map { abs($0 - $1) }.max() ?? 0
            #expect(worst == 0)
        }
    }

    @Test func tonesThroughWAVAndLogMel() throws {
        let pcm = TestSignals.pcm16(try #require(golden.signals["tones16k"]))
        let bytes = TestSignals.littleEndian(pcm)
        try #require(Fixtures.fnv1a64(bytes) == golden.tones16k_pcm_fnv1a64, "the test signal equals the golden script's")
        let signal = try WAVDecoder.decode(TestSignals.wav(channels: 1, rate: 16_000, bits: 16, data: bytes), name: "tones.wav")
        #expect(signal.sampleRate == 16_000 && signal.samples.count == pcm.count)
        try expectClose(try LogMelSpectrogram()(signal), golden.tones16k_logmel)
    }

    @Test func stereo44kMixedAndResampledLikeSciPy() throws {
        let left = TestSignals.pcm16(try #require(golden.signals["left44k"]))
        let right = TestSignals.pcm16(try #require(golden.signals["right44k"]))
        let interleaved = zip(left, right).flatMap { [$0, $1] }
        let wav = TestSignals.wav(channels: 2, rate: 44_100, bits: 16, data: TestSignals.littleEndian(interleaved))
        let signal = try WAVDecoder.decode(wav, name: "stereo.wav").resampled(to: 16_000)
        let expected = golden.stereo44k_resampled
        #expect(signal.sampleRate == 16_000)
        #expect(signal.samples.count == expected.count)
        let worst = zip(Fixtures.strided(signal.samples, expected.sample_stride), expected.sample).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "largest difference \(worst)")
    }

    @Test func espeakSpeechThroughTheWholeFrontEnd() throws {
        let bytes = try Fixtures.bytes("speech-22k.wav")
        let expected = golden.speech
        try #require(Fixtures.fnv1a64(bytes) == expected.file_fnv1a64, "speech-22k.wav differs from the one the goldens were made from")
        let signal = try WAVDecoder.decode(bytes, name: "speech-22k.wav")
        #expect(signal.sampleRate == expected.rate && signal.samples.count == expected.count)
        let resampled = try signal.resampled(to: 16_000)
        #expect(resampled.samples.count == expected.resampled_count)
        let worst = zip(Fixtures.strided(resampled.samples, expected.resampled_sample_stride), expected.resampled_sample)
            .map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6)
        try expectClose(try LogMelSpectrogram()(signal), expected.logmel)
    }

    @Test(arguments: [400, 512, 30, 14, 2, 98, 250])
    func realFFTEqualsTheDefinition(size: Int) {
        let fft = RealFFT(size: size)
        var state: UInt64 = 99
        let x = (0..<size).map { _ -> Double in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int64(bitPattern: state) >> 11) / Double(1 << 52)
        }
        var power = [Double](repeating: 0, count: size / 2 + 1)
        x.withUnsafeBufferPointer { input in power.withUnsafeMutableBufferPointer { fft.powerSpectrum(input, into: $0) } }
        for k in 0...(size / 2) {
            var re = 0.0, im = 0.0
            for n in 0..<size {
                let angle = -2 * Double.pi * Double(k * n % size) / Double(size)
                re += x[n] * cos(angle)
                im += x[n] * sin(angle)
            }
            #expect(abs(power[k] - (re * re + im * im)) <= 1e-9 * max(1, re * re + im * im), "bin \(k) of \(size)")
        }
    }

    @Test func silenceGivesTheFloorEverywhere() throws {
        let mel = try LogMelSpectrogram()(samples: [Float](repeating: 0, count: 16_000))
        let values = try #require(mel.float32Values)
        #expect(values.allSatisfy { $0 == (-10 + 4) / 4 })
    }
}
