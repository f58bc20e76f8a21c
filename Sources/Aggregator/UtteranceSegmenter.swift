import S2M3Core

/// Utterances out of a microphone's blocks and their speech probabilities (Silero VAD's, run on
/// the cluster), without I/O. An utterance starts at the first block whose probability reaches
/// the threshold and ends after `endSilenceMs` of blocks under it (`silence`), at
/// `maxUtteranceMs` (`max-length`), at a gap in the chunks (`gap`: the utterance is not glued
/// across lost audio) or when the source ends (`source-ended`). Its audio keeps one block before
/// the speech and the silence after it, so Whisper hears the whole first and last word. Pure.
struct UtteranceSegmenter: Sendable {
    struct Settings: Sendable, Hashable {
        /// A block is speech when its probability is at least this.
        var threshold: Float = 0.5
        /// Silence that ends an utterance, ms.
        var endSilenceMs: Double = 700
        /// The longest utterance, ms (Whisper hears at most 30 s).
        var maxUtteranceMs: Double = 15_000
        /// Blocks of audio kept before the speech starts.
        var preRollBlocks = 1
    }

    /// One finished utterance.
    struct Utterance: Sendable, Hashable {
        /// Its audio: pre-roll, speech and the silence after it.
        var samples: [Int16]
        /// Speech start and end, ms into the stream.
        var startMs: Double
        var endMs: Double
        /// Capture time of the speech start, Unix ms.
        var capturedMs: Int
        var endReason: StreamUtterance.EndReason
        /// Chunks were lost inside it or right after it.
        var gap: Bool
    }

    private struct Open: Sendable {
        var samples: [Int16]
        var startMs: Double
        var capturedMs: Int
        var speechEndMs: Double
        var silentMs: Double = 0
        var gap = false
    }

    let settings: Settings
    private var preRoll: [AudioBlocks.Block] = []
    private var open: Open?

    init(settings: Settings = Settings()) { self.settings = settings }

    /// Whether an utterance has started and not ended.
    var inUtterance: Bool { open != nil }

    /// The next block in stream order and its speech probability; the utterances it ends.
    mutating func feed(_ block: AudioBlocks.Block, speech probability: Float) -> [Utterance] {
        var out: [Utterance] = []
        if block.afterGap {
            preRoll = []
            if var current = open {
                current.gap = true
                open = current
                if let ended = close(.gap) { out.append(ended) }
            }
        }
        let speech = probability.isFinite && probability >= settings.threshold
        guard var current = open else {
            if speech {
                var samples: [Int16] = preRoll.flatMap(\.samples)
                samples += block.samples
                open = Open(samples: samples, startMs: block.startMs, capturedMs: block.capturedMs, speechEndMs: block.endMs)
                preRoll = []
                if let ended = closeIfTooLong() { out.append(ended) }
            } else {
                preRoll.append(block)
                if preRoll.count > settings.preRollBlocks { preRoll.removeFirst(preRoll.count - settings.preRollBlocks) }
            }
            return out
        }
        current.samples += block.samples
        if speech {
            current.speechEndMs = block.endMs
            current.silentMs = 0
        } else {
            current.silentMs += block.durationMs
        }
        open = current
        if current.silentMs >= settings.endSilenceMs {
            if let ended = close(.silence) { out.append(ended) }
        } else if let ended = closeIfTooLong() {
            out.append(ended)
        }
        return out
    }

    /// Chunks were lost after the last block fed (a gap that no later block has shown yet, or the
    /// chunks dropped for overload): the open utterance ends there, marked.
    mutating func gap() -> Utterance? {
        preRoll = []
        guard var current = open else { return nil }
        current.gap = true
        open = current
        return close(.gap)
    }

    /// The source ended: the open utterance, if any, ends here.
    mutating func finish() -> Utterance? {
        preRoll = []
        return close(.sourceEnded)
    }

    private mutating func closeIfTooLong() -> Utterance? {
        guard let current = open else { return nil }
        let lengthMs = Double(current.samples.count) * 1000 / Double(AudioChunk.sampleRate)
        return lengthMs >= settings.maxUtteranceMs ? close(.maxLength) : nil
    }

    private mutating func close(_ reason: StreamUtterance.EndReason) -> Utterance? {
        guard let current = open else { return nil }
        open = nil
        return Utterance(
            samples: current.samples, startMs: current.startMs, endMs: max(current.startMs, current.speechEndMs),
            capturedMs: current.capturedMs, endReason: reason, gap: current.gap)
    }
}
