import S2M3Core

/// A microphone's chunks assembled into fixed blocks for the voice-activity detector, without I/O:
/// chunks come in sequence order (a jump is chunks lost in transit: the samples before it go out as
/// a shorter block and the next block is marked `afterGap`, never glued across the hole; a
/// repeated or older sequence number is ignored). A block's time is the capture clock of its
/// first sample, ms from the stream's first chunk. Pure.
struct AudioBlocks: Sendable {
    /// One block of audio for the VAD.
    struct Block: Sendable, Hashable {
        var samples: [Int16]
        /// Stream time of the first sample, ms.
        var startMs: Double
        /// Capture time of the first sample, Unix ms.
        var capturedMs: Int
        /// Chunks were lost right before this block.
        var afterGap: Bool

        var durationMs: Double { Double(samples.count) * 1000 / Double(AudioChunk.sampleRate) }
        var endMs: Double { startMs + durationMs }
    }

    /// What one chunk did.
    struct Intake: Sendable, Hashable {
        var blocks: [Block] = []
        /// Sequence numbers never received before this chunk.
        var missing = 0
        /// The chunk repeated or went back on the sequence: ignored.
        var duplicate = false
    }

    /// Samples per block (256 ms: eight of Silero VAD's 512-sample windows).
    let blockSamples: Int
    private(set) var lastSequence: Int?
    /// Capture time of the stream's first chunk (its time origin), Unix ms.
    private(set) var originMs: Int?
    private var buffer: [Int16] = []
    /// Capture time of the buffer's first sample, Unix ms (fractional: samples are 1/16 ms).
    private var bufferCapturedMs: Double = 0
    private var gapPending = false

    init(blockSamples: Int = 4_096) {
        self.blockSamples = max(1, blockSamples)
    }

    /// Samples held until a block is full.
    var buffered: Int { buffer.count }

    /// One chunk's samples (already checked: at most ``AudioChunk/maxSamples``).
    mutating func add(_ chunk: AudioChunk, samples: [Int16]) -> Intake {
        var intake = Intake()
        if let last = lastSequence {
            guard chunk.sequence > last else {
                intake.duplicate = true
                return intake
            }
            if chunk.sequence > last + 1 {
                intake.missing = chunk.sequence - last - 1
                if let partial = flush() { intake.blocks.append(partial) }
                gapPending = true
            }
        }
        lastSequence = chunk.sequence
        if originMs == nil { originMs = chunk.capturedMs }
        if buffer.isEmpty { bufferCapturedMs = Double(chunk.capturedMs) }
        buffer += samples
        while buffer.count >= blockSamples {
            intake.blocks.append(take(blockSamples))
        }
        return intake
    }

    /// The samples held as a last, shorter block (the stream ended or a gap), or nil when none.
    mutating func flush() -> Block? {
        buffer.isEmpty ? nil : take(buffer.count)
    }

    private mutating func take(_ count: Int) -> Block {
        let origin = Double(originMs ?? 0)
        let block = Block(
            samples: Array(buffer.prefix(count)), startMs: max(0, bufferCapturedMs - origin),
            capturedMs: Int(bufferCapturedMs.rounded(.down)), afterGap: gapPending)
        gapPending = false
        buffer.removeFirst(count)
        bufferCapturedMs += Double(count) * 1000 / Double(AudioChunk.sampleRate)
        return block
    }
}
