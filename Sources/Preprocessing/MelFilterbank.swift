#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Triangular mel filters on the bins of a real FFT, as `librosa.filters.mel(sr, n_fft, n_mels)` with
/// its defaults (Slaney mel scale, `norm="slaney"` area normalisation, 0 Hz to sr/2), which is how
/// Whisper's `mel_filters.npz` was made. Weights are rounded to Float as librosa stores them.
public struct MelFilterbank: Sendable, Hashable {
    public let melBins: Int
    public let fftBins: Int
    /// One triangular filter: the first FFT bin with a non-zero weight, and the weights from there.
    public struct Filter: Sendable, Hashable {
        public let start: Int
        public let weights: [Float]
    }

    public let filters: [Filter]

    public init(sampleRate: Int, fftSize: Int, melBins: Int) {
        self.melBins = melBins
        fftBins = fftSize / 2 + 1
        let fftFrequencies = (0..<fftBins).map { Double($0) * Double(sampleRate) / Double(fftSize) }
        let minMel = Self.hzToMel(0), maxMel = Self.hzToMel(Double(sampleRate) / 2)
        let melFrequencies = (0..<(melBins + 2)).map {
            Self.melToHz(minMel + (maxMel - minMel) * Double($0) / Double(melBins + 1))
        }
        var rows: [Filter] = []
        for i in 0..<melBins {
            let lowerWidth = melFrequencies[i + 1] - melFrequencies[i]
            let upperWidth = melFrequencies[i + 2] - melFrequencies[i + 1]
            let norm = 2 / (melFrequencies[i + 2] - melFrequencies[i])
            let row = fftFrequencies.map { f -> Float in
                let lower = (f - melFrequencies[i]) / lowerWidth
                let upper = (melFrequencies[i + 2] - f) / upperWidth
                // librosa stores the triangle as float32, then scales it in float64 and stores again.
                return Float(Double(Float(max(0, min(lower, upper)))) * norm)
            }
            let start = row.firstIndex(where: { $0 != 0 }) ?? 0
            let end = (row.lastIndex(where: { $0 != 0 }) ?? -1) + 1
            rows.append(Filter(start: start, weights: end > start ? Array(row[start..<end]) : []))
        }
        filters = rows
    }

    /// The full `melBins x fftBins` matrix, row-major.
    public var dense: [Float] {
        var out = [Float](repeating: 0, count: melBins * fftBins)
        for (i, filter) in filters.enumerated() {
            for (j, w) in filter.weights.enumerated() { out[i * fftBins + filter.start + j] = w }
        }
        return out
    }

    /// Slaney's mel scale: linear below 1 kHz, logarithmic above.
    static func hzToMel(_ hz: Double) -> Double {
        let linear = hz / (200.0 / 3)
        return hz >= 1000 ? 15 + log(hz / 1000) / (log(6.4) / 27) : linear
    }

    static func melToHz(_ mel: Double) -> Double {
        mel >= 15 ? 1000 * exp((log(6.4) / 27) * (mel - 15)) : mel * (200.0 / 3)
    }
}
