#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rational-rate resampling that reproduces `scipy.signal.resample_poly(x, up, down)` with its default
/// Kaiser window (beta 5): a linear-phase low-pass FIR of `2 * 10 * max(up, down) + 1` taps with cutoff
/// `1 / max(up, down)` of Nyquist, applied polyphase (only the taps that meet input samples are
/// computed), output sample `j` centred on input time `j * down / up`, zero outside the signal.
public struct AudioResampler: Sendable {
    public let up: Int
    public let down: Int
    /// Half the filter length, in up-sampled steps.
    private let halfLength: Int
    /// The filter, scaled by `up`, indexed `[0, 2 * halfLength]` with its centre at `halfLength`.
    private let taps: [Double]

    /// Largest `max(up, down)` accepted: the filter has `20 × max(up, down) + 1` taps, so this
    /// bounds it to 2 M taps (16 MB). Every common rate pair is far below (44.1 → 16 kHz: 441).
    public static let maxRatioTerm = 100_000

    /// Throws `invalidConfiguration` unless both rates are positive, and `unsupportedAudio` when
    /// the ratio of the rates needs a filter longer than ``maxRatioTerm`` allows (e.g. 383,999 Hz
    /// to 16 kHz), before anything is allocated.
    public init(from inputRate: Int, to outputRate: Int) throws(PreprocessingError) {
        guard inputRate > 0 && outputRate > 0 else {
            throw PreprocessingError(.invalidConfiguration, "cannot resample from \(inputRate) Hz to \(outputRate) Hz")
        }
        let g = Self.gcd(inputRate, outputRate)
        let up = outputRate / g, down = inputRate / g
        let maxRate = max(up, down)
        guard maxRate <= Self.maxRatioTerm else {
            throw PreprocessingError(
                .unsupportedAudio,
                "cannot resample from \(inputRate) Hz to \(outputRate) Hz: the ratio \(up)/\(down) needs too long a filter; use a common rate such as 16000, 44100 or 48000 Hz")
        }
        self.up = up
        self.down = down
        halfLength = 10 * maxRate
        taps = Self.lowPass(count: 2 * halfLength + 1, cutoff: 1 / Double(maxRate)).map { $0 * Double(up) }
    }

    /// Output length: `ceil(count * up / down)`.
    public func outputCount(for count: Int) -> Int { (count * up + down - 1) / down }

    public func resample(_ input: [Float]) -> [Float] {
        if up == down { return input }
        let n = input.count
        var output = [Float](repeating: 0, count: outputCount(for: n))
        input.withUnsafeBufferPointer { x in
            taps.withUnsafeBufferPointer { h in
                for j in 0..<output.count {
                    // y[j] = Σ_k h[j*down - k*up + halfLength] x[k], over k with the tap index in range.
                    let t = j * down + halfLength
                    let kLow = max(0, (t - 2 * halfLength + up - 1) / up)
                    let kHigh = min(n - 1, t / up)
                    var sum = 0.0
                    if kLow <= kHigh {
                        for k in kLow...kHigh { sum += h[t - k * up] * Double(x[k]) }
                    }
                    output[j] = Float(sum)
                }
            }
        }
        return output
    }

    /// `scipy.signal.firwin(count, cutoff, window=("kaiser", 5.0))`: windowed sinc, unit DC gain.
    static func lowPass(count: Int, cutoff: Double) -> [Double] {
        let alpha = 0.5 * Double(count - 1)
        let beta = 5.0
        var h = (0..<count).map { i -> Double in
            let m = Double(i) - alpha
            let sinc = m == 0 ? 1 : sin(Double.pi * cutoff * m) / (Double.pi * cutoff * m)
            let r = 2 * Double(i) / Double(count - 1) - 1
            let window = besselI0(beta * (1 - r * r).squareRoot()) / besselI0(beta)
            return cutoff * sinc * window
        }
        let sum = h.reduce(0, +)
        for i in h.indices { h[i] /= sum }
        return h
    }

    /// Modified Bessel function of the first kind, order 0 (power series; converges fast for beta 5).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0
        let q = x * x / 4
        for k in 1..<64 {
            term *= q / Double(k * k)
            sum += term
            if term < sum * 1e-17 { break }
        }
        return sum
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
