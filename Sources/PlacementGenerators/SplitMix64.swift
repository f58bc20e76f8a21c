import PlacementPlanning
import S2M3Core
/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable generator. Used wherever the
/// placement code needs reproducible randomness (benchmarks, tests); its helpers avoid the standard
/// library's unspecified sampling so a seed gives the same numbers on every Swift version.
/// (`logUniform` uses the C library's `log` and `exp`.)
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform integer in `range` (modulo bias below 2^-40 for the small ranges used here).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let count = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(next() % count)
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * unit()
    }

    /// Log-uniform in [low, high): every order of magnitude equally likely.
    public mutating func logUniform(_ low: Double, _ high: Double) -> Double {
        (log(low) + (log(high) - log(low)) * unit()).exponential
    }
}

extension Double {
    fileprivate var exponential: Double { exp(self) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
