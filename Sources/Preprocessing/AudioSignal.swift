/// Mono audio samples in [-1, 1] at a sample rate.
public struct AudioSignal: Sendable, Equatable {
    public var sampleRate: Int
    public var samples: [Float]

    public init(sampleRate: Int, samples: [Float]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Length in seconds.
    public var duration: Double { Double(samples.count) / Double(sampleRate) }

    /// This signal at `rate`, resampled with ``AudioResampler`` when the rates differ.
    /// Throws `invalidConfiguration` when either rate is not positive.
    public func resampled(to rate: Int) throws(PreprocessingError) -> AudioSignal {
        if rate == sampleRate { return self }
        return AudioSignal(sampleRate: rate, samples: try AudioResampler(from: sampleRate, to: rate).resample(samples))
    }
}
