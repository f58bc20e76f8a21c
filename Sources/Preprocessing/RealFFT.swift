#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real-input FFT of any even size (Whisper's 400 = 2^4 * 5^2 exactly, no zero padding): the N real
/// samples are packed into N/2 complex values, transformed by a mixed-radix Cooley-Tukey FFT
/// (decimation in time, radices 4, 2, 3, 5 and a generic one for other primes), and unpacked into the
/// N/2 + 1 non-negative frequency bins. Double precision; the plan (factors, twiddles) is computed once.
///
/// Not thread-safe: each instance owns scratch buffers. Make one per thread.
public final class RealFFT {
    public let size: Int
    private let half: Int
    private let factors: [Int]
    /// exp(-2πi k / half), k in 0..<half.
    private let twRe: [Double], twIm: [Double]
    /// exp(-2πi k / size), k in 0...half, for unpacking.
    private let unRe: [Double], unIm: [Double]
    private var inRe: [Double], inIm: [Double], outRe: [Double], outIm: [Double]
    private var scratchRe: [Double], scratchIm: [Double]

    /// `size` must be even and at least 2.
    public init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "RealFFT needs an even size")
        self.size = size
        half = size / 2
        factors = Self.factorize(half)
        twRe = (0..<half).map { cos(-2 * .pi * Double($0) / Double(size / 2)) }
        twIm = (0..<half).map { sin(-2 * .pi * Double($0) / Double(size / 2)) }
        unRe = (0...half).map { cos(-2 * .pi * Double($0) / Double(size)) }
        unIm = (0...half).map { sin(-2 * .pi * Double($0) / Double(size)) }
        inRe = [Double](repeating: 0, count: half)
        inIm = inRe; outRe = inRe; outIm = inRe
        let widest = factors.max() ?? 1
        scratchRe = [Double](repeating: 0, count: widest)
        scratchIm = scratchRe
    }

    /// Writes |X[k]|² for k in 0...size/2 of the real signal `input` (`size` values) into `power`.
    public func powerSpectrum(_ input: UnsafeBufferPointer<Double>, into power: UnsafeMutableBufferPointer<Double>) {
        precondition(input.count == size && power.count == half + 1)
        for n in 0..<half {
            inRe[n] = input[2 * n]
            inIm[n] = input[2 * n + 1]
        }
        transform(inOffset: 0, stride: 1, outOffset: 0, count: half, level: 0)
        for k in 0...half {
            let a = k % half, b = (half - k) % half
            // Even and odd halves: E = (Z[k] + conj Z[N/2-k]) / 2, O = (Z[k] - conj Z[N/2-k]) / 2i.
            let eRe = 0.5 * (outRe[a] + outRe[b]), eIm = 0.5 * (outIm[a] - outIm[b])
            let oRe = 0.5 * (outIm[a] + outIm[b]), oIm = -0.5 * (outRe[a] - outRe[b])
            let re = eRe + unRe[k] * oRe - unIm[k] * oIm
            let im = eIm + unRe[k] * oIm + unIm[k] * oRe
            power[k] = re * re + im * im
        }
    }

    /// DFT of `count` inputs at `inOffset + i * stride` into `out[outOffset ..< outOffset + count]`.
    private func transform(inOffset: Int, stride: Int, outOffset: Int, count: Int, level: Int) {
        let p = factors[level]
        let m = count / p
        if m == 1 {
            for q in 0..<p {
                outRe[outOffset + q] = inRe[inOffset + q * stride]
                outIm[outOffset + q] = inIm[inOffset + q * stride]
            }
        } else {
            for q in 0..<p {
                transform(inOffset: inOffset + q * stride, stride: stride * p, outOffset: outOffset + q * m, count: m, level: level + 1)
            }
        }
        butterflies(outOffset: outOffset, p: p, m: m, twiddleStep: stride)
    }

    /// Combines `p` interleaved sub-DFTs of length `m` into one of length `p * m`.
    private func butterflies(outOffset: Int, p: Int, m: Int, twiddleStep: Int) {
        for k in 0..<m {
            // Twiddled inputs a_q = W_count^{qk} * sub_q[k].
            for q in 0..<p {
                let i = outOffset + q * m + k
                let t = (q * k * twiddleStep) % half
                let re = outRe[i], im = outIm[i]
                scratchRe[q] = re * twRe[t] - im * twIm[t]
                scratchIm[q] = re * twIm[t] + im * twRe[t]
            }
            switch p {
            case 2:
                let (r0, i0, r1, i1) = (scratchRe[0], scratchIm[0], scratchRe[1], scratchIm[1])
                outRe[outOffset + k] = r0 + r1; outIm[outOffset + k] = i0 + i1
                outRe[outOffset + k + m] = r0 - r1; outIm[outOffset + k + m] = i0 - i1
            case 4:
                let (r0, i0, r1, i1) = (scratchRe[0], scratchIm[0], scratchRe[1], scratchIm[1])
                let (r2, i2, r3, i3) = (scratchRe[2], scratchIm[2], scratchRe[3], scratchIm[3])
                let (ar, ai, br, bi) = (r0 + r2, i0 + i2, r0 - r2, i0 - i2)
                let (cr, ci, dr, di) = (r1 + r3, i1 + i3, r1 - r3, i1 - i3)
                outRe[outOffset + k] = ar + cr; outIm[outOffset + k] = ai + ci
                outRe[outOffset + k + m] = br + di; outIm[outOffset + k + m] = bi - dr      // b - i d
                outRe[outOffset + k + 2 * m] = ar - cr; outIm[outOffset + k + 2 * m] = ai - ci
                outRe[outOffset + k + 3 * m] = br - di; outIm[outOffset + k + 3 * m] = bi + dr  // b + i d
            default:
                // Generic p-point DFT: X[k + u m] = Σ_q a_q W_p^{qu}, W_p = W_half^{half/p}.
                let step = half / p
                for u in 0..<p {
                    var re = 0.0, im = 0.0
                    for q in 0..<p {
                        let t = (q * u % p) * step
                        re += scratchRe[q] * twRe[t] - scratchIm[q] * twIm[t]
                        im += scratchRe[q] * twIm[t] + scratchIm[q] * twRe[t]
                    }
                    outRe[outOffset + k + u * m] = re
                    outIm[outOffset + k + u * m] = im
                }
            }
        }
    }

    /// Radices for `n`: fours first, then twos, threes, fives, then remaining primes.
    static func factorize(_ n: Int) -> [Int] {
        var n = n, out: [Int] = []
        for p in [4, 2, 3, 5] {
            while n % p == 0 { out.append(p); n /= p }
        }
        var p = 7
        while n > 1 {
            while n % p == 0 { out.append(p); n /= p }
            p += 2
        }
        return out.isEmpty ? [1] : out
    }
}
