#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real-input FFT of any even size (Whisper's 400 = 2^4 * 5^2 exactly, no zero padding): the N real
/// samples are packed into N/2 complex values, transformed by a mixed-radix Cooley-Tukey FFT
/// (decimation in time; radix 4, 2, 5 butterflies and a generic one for other primes), and unpacked
/// into the N/2 + 1 non-negative frequency bins. Double precision; factors and twiddles are computed
/// once.
///
/// Not thread-safe: each instance owns scratch buffers (raw memory, freed in `deinit`). Make one per
/// thread.
public final class RealFFT {
    public let size: Int
    private let half: Int
    private let factors: [Int]
    /// exp(-2πi k / half), k in 0..<half.
    private let twRe: UnsafeMutablePointer<Double>, twIm: UnsafeMutablePointer<Double>
    /// exp(-2πi k / size), k in 0...half, for unpacking.
    private let unRe: UnsafeMutablePointer<Double>, unIm: UnsafeMutablePointer<Double>
    private let inRe: UnsafeMutablePointer<Double>, inIm: UnsafeMutablePointer<Double>
    private let outRe: UnsafeMutablePointer<Double>, outIm: UnsafeMutablePointer<Double>
    private let scRe: UnsafeMutablePointer<Double>, scIm: UnsafeMutablePointer<Double>
    private let widest: Int

    /// `size` must be even and at least 2.
    public init(size: Int) {
        precondition(size >= 2 && size % 2 == 0, "RealFFT needs an even size")
        self.size = size
        half = size / 2
        factors = Self.factorize(half)
        widest = max(factors.max() ?? 1, 1)
        func table(_ count: Int, _ f: (Int) -> Double) -> UnsafeMutablePointer<Double> {
            let p = UnsafeMutablePointer<Double>.allocate(capacity: count)
            for i in 0..<count { p[i] = f(i) }
            return p
        }
        let h = half, n = size
        twRe = table(h) { cos(-2 * .pi * Double($0) / Double(h)) }
        twIm = table(h) { sin(-2 * .pi * Double($0) / Double(h)) }
        unRe = table(h + 1) { cos(-2 * .pi * Double($0) / Double(n)) }
        unIm = table(h + 1) { sin(-2 * .pi * Double($0) / Double(n)) }
        inRe = table(h) { _ in 0 }; inIm = table(h) { _ in 0 }
        outRe = table(h) { _ in 0 }; outIm = table(h) { _ in 0 }
        scRe = table(widest) { _ in 0 }; scIm = table(widest) { _ in 0 }
    }

    deinit {
        for p in [twRe, twIm, unRe, unIm, inRe, inIm, outRe, outIm, scRe, scIm] { p.deallocate() }
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
            let a = k == half ? 0 : k, b = k == 0 ? 0 : half - k
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
        butterflies(outOffset: outOffset, p: p, m: m, stride: stride)
    }

    /// Combines `p` interleaved sub-DFTs of length `m` into one of length `p * m`
    /// (twiddle W_{p m}^{q k} = W_half^{q k stride}; q k stride < half, so no wrap-around).
    private func butterflies(outOffset: Int, p: Int, m: Int, stride: Int) {
        let oR = outRe + outOffset, oI = outIm + outOffset
        for k in 0..<m {
            for q in 0..<p {
                let t = q * k * stride
                let re = oR[q * m + k], im = oI[q * m + k]
                scRe[q] = re * twRe[t] - im * twIm[t]
                scIm[q] = re * twIm[t] + im * twRe[t]
            }
            switch p {
            case 2:
                let (r0, i0, r1, i1) = (scRe[0], scIm[0], scRe[1], scIm[1])
                oR[k] = r0 + r1; oI[k] = i0 + i1
                oR[k + m] = r0 - r1; oI[k + m] = i0 - i1
            case 4:
                let (ar, ai, br, bi) = (scRe[0] + scRe[2], scIm[0] + scIm[2], scRe[0] - scRe[2], scIm[0] - scIm[2])
                let (cr, ci, dr, di) = (scRe[1] + scRe[3], scIm[1] + scIm[3], scRe[1] - scRe[3], scIm[1] - scIm[3])
                oR[k] = ar + cr; oI[k] = ai + ci
                oR[k + m] = br + di; oI[k + m] = bi - dr  // b - i d
                oR[k + 2 * m] = ar - cr; oI[k + 2 * m] = ai - ci
                oR[k + 3 * m] = br - di; oI[k + 3 * m] = bi + dr  // b + i d
            case 5:
                // X_u = a0 + Σ_{q=1..4} a_q W5^{qu}, using the symmetry W5^{4} = conj W5^{1}, W5^{3} = conj W5^{2}.
                let c1 = 0.30901699437494745, c2 = -0.8090169943749475  // cos(2π/5), cos(4π/5)
                let s1 = 0.9510565162951535, s2 = 0.5877852522924731    // sin(2π/5), sin(4π/5)
                let (pr1, pi1) = (scRe[1] + scRe[4], scIm[1] + scIm[4]), (mr1, mi1) = (scRe[1] - scRe[4], scIm[1] - scIm[4])
                let (pr2, pi2) = (scRe[2] + scRe[3], scIm[2] + scIm[3]), (mr2, mi2) = (scRe[2] - scRe[3], scIm[2] - scIm[3])
                let (r0, i0) = (scRe[0], scIm[0])
                oR[k] = r0 + pr1 + pr2; oI[k] = i0 + pi1 + pi2
                let (ar, ai) = (r0 + c1 * pr1 + c2 * pr2, i0 + c1 * pi1 + c2 * pi2)
                let (br, bi) = (r0 + c2 * pr1 + c1 * pr2, i0 + c2 * pi1 + c1 * pi2)
                // -i * (s1 m1 + s2 m2) for u = 1; -i * (s2 m1 - s1 m2) for u = 2.
                let (xr, xi) = (s1 * mi1 + s2 * mi2, -(s1 * mr1 + s2 * mr2))
                let (yr, yi) = (s2 * mi1 - s1 * mi2, -(s2 * mr1 - s1 * mr2))
                oR[k + m] = ar + xr; oI[k + m] = ai + xi
                oR[k + 4 * m] = ar - xr; oI[k + 4 * m] = ai - xi
                oR[k + 2 * m] = br + yr; oI[k + 2 * m] = bi + yi
                oR[k + 3 * m] = br - yr; oI[k + 3 * m] = bi - yi
            default:
                // Generic p-point DFT: X[k + u m] = Σ_q a_q W_p^{qu}, W_p = W_half^{half/p}.
                let step = half / p
                for u in 0..<p {
                    var re = 0.0, im = 0.0
                    for q in 0..<p {
                        let t = (q * u % p) * step
                        re += scRe[q] * twRe[t] - scIm[q] * twIm[t]
                        im += scRe[q] * twIm[t] + scIm[q] * twRe[t]
                    }
                    oR[k + u * m] = re
                    oI[k + u * m] = im
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
