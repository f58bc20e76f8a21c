#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Inference

/// Whisper's audio front end (`whisper.audio.log_mel_spectrogram` after `pad_or_trim`): 16 kHz mono
/// samples padded with zeros or trimmed to 30 s, a centred STFT (reflect padding, periodic Hann
/// window of 400, hop 160), power spectrum, 80 Slaney mel filters, `log10(max(x, 1e-10))`, floor at
/// the maximum minus 8, then `(x + 4) / 4`. Output: float32 `[1, melBins, frames]` = `[1, 80, 3000]`.
public struct LogMelSpectrogram: Sendable {
    public struct Configuration: Sendable, Hashable, Codable {
        public var sampleRate = 16_000
        public var fftSize = 400
        public var hopLength = 160
        public var melBins = 80
        /// Frames in the output; the input is padded or trimmed to `frames * hopLength` samples.
        public var frames = 3000

        public init(sampleRate: Int = 16_000, fftSize: Int = 400, hopLength: Int = 160, melBins: Int = 80, frames: Int = 3000) {
            self.sampleRate = sampleRate
            self.fftSize = fftSize
            self.hopLength = hopLength
            self.melBins = melBins
            self.frames = frames
        }

        /// Whisper (tiny … large-v2): 16 kHz, 80 mel bins, 30 s.
        public static let whisper = Configuration()
    }

    public let configuration: Configuration
    public let filterbank: MelFilterbank
    private let window: [Double]
    /// The filters flattened for the inner loop: filter `b` covers bins `starts[b] ..< starts[b] + counts[b]`
    /// with weights `weights[offsets[b]...]`.
    private let starts: [Int], counts: [Int], offsets: [Int], weights: [Double]

    /// Throws `invalidConfiguration` unless sizes are positive, the FFT size even and larger than
    /// the hop, and the reflect padding (`fftSize / 2`) shorter than the padded input.
    public init(_ configuration: Configuration = .whisper) throws(PreprocessingError) {
        let c = configuration
        guard c.sampleRate > 0, c.fftSize >= 2, c.fftSize % 2 == 0, c.hopLength > 0, c.melBins > 0, c.frames > 0,
              c.frames * c.hopLength > c.fftSize / 2
        else {
            throw PreprocessingError(.invalidConfiguration, "log-mel configuration out of range: \(c)")
        }
        self.configuration = c
        filterbank = MelFilterbank(sampleRate: c.sampleRate, fftSize: c.fftSize, melBins: c.melBins)
        // Periodic Hann window (torch.hann_window default).
        window = (0..<c.fftSize).map { 0.5 - 0.5 * cos(2 * .pi * Double($0) / Double(c.fftSize)) }
        let filters = filterbank.filters
        starts = filters.map(\.start)
        counts = filters.map(\.weights.count)
        offsets = counts.reduce(into: [0]) { $0.append($0.last! + $1) }
        weights = filters.flatMap { $0.weights.map(Double.init) }
    }

    /// The log-mel spectrogram of `signal`, resampled first when its rate differs.
    public func callAsFunction(_ signal: AudioSignal) throws(PreprocessingError) -> Tensor {
        callAsFunction(samples: try signal.resampled(to: configuration.sampleRate).samples)
    }

    /// The log-mel spectrogram of mono samples at ``Configuration/sampleRate``.
    public func callAsFunction(samples: [Float]) -> Tensor {
        let c = configuration
        let length = c.frames * c.hopLength
        let pad = c.fftSize / 2
        // Input padded/trimmed to `length`, then reflect-padded by `pad` on both sides.
        var padded = [Double](repeating: 0, count: length + 2 * pad)
        for i in 0..<min(length, samples.count) { padded[pad + i] = Double(samples[i]) }
        for i in 0..<pad {
            padded[pad - 1 - i] = padded[pad + 1 + i]
            padded[pad + length + i] = padded[pad + length - 2 - i]
        }

        let fft = RealFFT(size: c.fftSize)
        var logMel = [Double](repeating: 0, count: c.melBins * c.frames)
        var frame = [Double](repeating: 0, count: c.fftSize)
        var power = [Double](repeating: 0, count: filterbank.fftBins)
        var peak = -Double.infinity
        padded.withUnsafeBufferPointer { x in
            frame.withUnsafeMutableBufferPointer { frame in
                power.withUnsafeMutableBufferPointer { power in
                    logMel.withUnsafeMutableBufferPointer { out in
                        for t in 0..<c.frames {
                            let start = t * c.hopLength
                            for i in 0..<c.fftSize { frame[i] = x[start + i] * window[i] }
                            fft.powerSpectrum(UnsafeBufferPointer(frame), into: power)
                            for b in 0..<c.melBins {
                                var sum = 0.0
                                let offset = offsets[b] - starts[b]
                                for f in starts[b]..<(starts[b] + counts[b]) { sum += weights[offset + f] * power[f] }
                                let value = log10(max(sum, 1e-10))
                                out[b * c.frames + t] = value
                                peak = max(peak, value)
                            }
                        }
                    }
                }
            }
        }
        let floor = peak - 8
        let values = logMel.map { Float((max($0, floor) + 4) / 4) }
        // The value count equals the shape's element count by construction.
        return try! Tensor(float32: values, shape: [1, c.melBins, c.frames])
    }
}
