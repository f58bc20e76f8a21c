import S2M3Core
import Testing

@testable import Aggregator

/// A microphone's chunks into blocks and blocks into utterances (pure; the probabilities are
/// given, as Silero VAD would answer them).
@Suite("Microphones: chunk assembly, gaps, utterance segmentation")
struct UtteranceSegmenterTests {
    static func chunk(_ sequence: Int, samples: Int, capturedMs: Int, value: Int16 = 100) -> (AudioChunk, [Int16]) {
        (AudioChunk(source: "mic-1", sequence: sequence, capturedMs: capturedMs, sampleCount: samples), [Int16](repeating: value, count: samples))
    }

    /// Half-second chunks make 256 ms blocks with contiguous times from the first chunk's capture.
    @Test func chunksBecomeContiguousBlocks() {
        var blocks = AudioBlocks(blockSamples: 4_096)
        var out: [AudioBlocks.Block] = []
        for sequence in 0..<4 {
            let (chunk, samples) = Self.chunk(sequence, samples: 8_000, capturedMs: 10_000 + 500 * sequence)
            let intake = blocks.add(chunk, samples: samples)
            #expect(intake.missing == 0 && !intake.duplicate)
            out += intake.blocks
        }
        #expect(out.count == 32_000 / 4_096)
        #expect(blocks.buffered == 32_000 % 4_096)
        for (index, block) in out.enumerated() {
            #expect(block.samples.count == 4_096)
            #expect(abs(block.startMs - Double(index) * 256) < 0.001)
            #expect(!block.afterGap)
        }
        #expect(out[1].capturedMs == 10_256)
        let rest = blocks.flush()
        #expect(rest?.samples.count == 32_000 % 4_096)
        #expect(blocks.flush() == nil)
    }

    /// A jump in sequence numbers: the samples before it leave as a shorter block, the next block
    /// is marked after the gap and timed by its own chunk; repeats are ignored.
    @Test func gapsAreNotGluedAndRepeatsAreIgnored() {
        var blocks = AudioBlocks(blockSamples: 4_096)
        let (first, a) = Self.chunk(0, samples: 6_000, capturedMs: 1_000)
        #expect(blocks.add(first, samples: a).blocks.count == 1)
        let (again, b) = Self.chunk(0, samples: 6_000, capturedMs: 1_000)
        let repeated = blocks.add(again, samples: b)
        #expect(repeated.duplicate && repeated.blocks.isEmpty)
        let (late, c) = Self.chunk(3, samples: 8_000, capturedMs: 2_500)
        let intake = blocks.add(late, samples: c)
        #expect(intake.missing == 2)
        #expect(intake.blocks.count == 2)
        #expect(intake.blocks[0].samples.count == 6_000 - 4_096, "the samples before the gap, alone")
        #expect(!intake.blocks[0].afterGap)
        #expect(intake.blocks[1].afterGap)
        #expect(intake.blocks[1].startMs == 1_500, "timed by the chunk after the gap (2.5 s − the origin 1 s)")
        #expect(intake.blocks[1].capturedMs == 2_500)
    }

    static func block(_ index: Int, afterGap: Bool = false) -> AudioBlocks.Block {
        AudioBlocks.Block(samples: [Int16](repeating: Int16(index), count: 4_096), startMs: Double(index) * 256, capturedMs: 50_000 + index * 256, afterGap: afterGap)
    }

    /// Feeds blocks 0… with these probabilities; returns the utterances in order.
    static func segment(_ probabilities: [Float], settings: UtteranceSegmenter.Settings = .init(), gapAt: Set<Int> = []) -> [UtteranceSegmenter.Utterance] {
        var segmenter = UtteranceSegmenter(settings: settings)
        var out: [UtteranceSegmenter.Utterance] = []
        for (index, p) in probabilities.enumerated() {
            out += segmenter.feed(block(index, afterGap: gapAt.contains(index)), speech: p)
        }
        if let last = segmenter.finish() { out.append(last) }
        return out
    }

    /// Speech then silence: one utterance per run of speech, timed by its speech blocks, its audio
    /// one block of pre-roll, the speech and the silence that ended it.
    @Test func speechFollowedBySilenceMakesOneUtteranceEach() {
        let s: Float = 0.9, q: Float = 0.05
        let utterances = Self.segment([q, q, s, s, q, s, q, q, q, q, s, s, s, q, q, q, q])
        #expect(utterances.count == 2)
        let first = utterances[0]
        #expect(first.startMs == 2 * 256 && first.endMs == 6 * 256, "a short pause (one block) does not end it")
        #expect(first.endReason == .silence && !first.gap)
        #expect(first.capturedMs == 50_000 + 2 * 256)
        // Pre-roll block 1, speech 2…5, then silence 6–8 (768 ms ≥ 700 ms).
        #expect(first.samples.count == 8 * 4_096)
        #expect(first.samples.first == 1 && first.samples.last == 8)
        #expect(utterances[1].startMs == 10 * 256 && utterances[1].endMs == 13 * 256)
        #expect(utterances[1].endReason == .silence)
        #expect(Self.segment([q, q, q]).isEmpty, "silence alone is no utterance")
        #expect(Self.segment([.nan, .infinity * 0, q]).isEmpty, "a probability that is not a number is not speech")
    }

    /// An utterance reaching the maximum length is cut there; speech going on starts the next.
    @Test func longSpeechIsCutAtTheMaximumLength() {
        var settings = UtteranceSegmenter.Settings()
        settings.maxUtteranceMs = 2_000
        let utterances = Self.segment([Float](repeating: 0.9, count: 12), settings: settings)
        #expect(utterances.map(\.endReason) == [.maxLength, .sourceEnded])
        #expect(utterances.allSatisfy { Double($0.samples.count) / 16 <= 2_000 + 256 })
        #expect(utterances[1].startMs == utterances[0].endMs, "no audio lost between the two")
    }

    /// Audio lost in the middle of an utterance ends it at the gap, marked; the speech after the
    /// gap is a new utterance, also not glued to the old one.
    @Test func anUtteranceSpanningAGapEndsThere() {
        let s: Float = 0.9, q: Float = 0.05
        let utterances = Self.segment([q, s, s, s, s, q, q, q], gapAt: [3])
        #expect(utterances.count == 2)
        #expect(utterances[0].endReason == .gap && utterances[0].gap)
        #expect(utterances[0].endMs == 3 * 256)
        #expect(utterances[0].samples.count == 3 * 4_096, "pre-roll and the two blocks before the gap")
        #expect(utterances[1].startMs == 3 * 256 && !utterances[1].gap && utterances[1].endReason == .silence)
        #expect(utterances[1].samples.first == 3, "no pre-roll from before the gap")
    }

    /// The source ending closes what is open.
    @Test func theSourceEndingClosesTheOpenUtterance() {
        let utterances = Self.segment([0.05, 0.9, 0.9])
        #expect(utterances.count == 1)
        #expect(utterances[0].endReason == .sourceEnded)
    }

    /// Chunks are checked before any arithmetic: content type, size, sequence, capture time.
    @Test func badChunksAreRefusedWithAReason() throws {
        func read(_ properties: MessageProperties, bytes: Int = 16_000) -> MessageError? {
            do { _ = try AudioChunk(source: "mic-1", properties: properties, payloadBytes: bytes, receivedMs: 1_000); return nil } catch { return error }
        }
        let good = AudioChunk.properties(sequence: 3, capturedMs: 900)
        #expect(read(good) == nil)
        let chunk = try AudioChunk(source: "mic-1", properties: good, payloadBytes: 16_000, receivedMs: 1_000)
        #expect(chunk.sampleCount == 8_000 && chunk.capturedMs == 900 && chunk.sequence == 3)
        for type in ["audio/L16;rate=16000;channels=1", "AUDIO/l16; channels=1; rate=16000", "audio/L16;rate=16000"] {
            #expect(AudioChunk.isAcceptedContentType(type), "\(type)")
        }
        for type in ["audio/L16;rate=44100;channels=1", "audio/L16;rate=16000;channels=2", "audio/wav", "audio/L16", "audio/L16;rate=16000;rate=8000", ""] {
            #expect(!AudioChunk.isAcceptedContentType(type), "\(type)")
        }
        var wrongType = good
        wrongType.contentType = "audio/L16;rate=48000;channels=1"
        #expect(read(wrongType)?.field == "contentType")
        #expect(read(good, bytes: 0)?.field == "payload")
        #expect(read(good, bytes: 15_999)?.field == "payload", "odd bytes are not 16-bit samples")
        #expect(read(good, bytes: 2 * AudioChunk.maxSamples + 2)?.code == .payloadTooLarge)
        for sequence in ["-1", "x", "99999999999999999999", ""] {
            var properties = good
            properties.userProperties = [.init(StreamFrame.sequenceName, sequence)]
            #expect(read(properties)?.field == StreamFrame.sequenceName, "\(sequence)")
        }
        var badTime = good
        badTime.userProperties = [.init(StreamFrame.sequenceName, "1"), .init(StreamFrame.capturedName, "-5")]
        #expect(read(badTime)?.field == StreamFrame.capturedName)
    }

    /// Samples survive the little-endian payload and the WAV the tasks are given.
    @Test func payloadAndWAVRoundTrip() {
        let samples: [Int16] = [0, 1, -1, .max, .min, 12_345]
        #expect(AudioChunk.samples(AudioChunk.payload(samples)) == samples)
        #expect(AudioChunk.payload([0x0102]) == [0x02, 0x01])
        let wav = AudioChunk.wav(samples)
        #expect(wav.count == 44 + 2 * samples.count)
        #expect(MediaType.sniff(wav) == MediaType.wav)
        #expect(Array(wav.suffix(2 * samples.count)) == AudioChunk.payload(samples))
    }
}
