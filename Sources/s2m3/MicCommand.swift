import ArgumentParser
import Foundation
import Logging
import MQTTBus
import Preprocessing
import S2M3Bus
import S2M3Core

/// `s2m3 mic`: a microphone on the bus (docs/streams.md). Announces the source as `s2m3 camera`
/// does (retained `sources/{source}/state`, an `offline` last will) and publishes 16 kHz 16-bit
/// mono PCM chunks on `sources/{source}/audio`: a WAV file (any rate and channel count, converted)
/// in real time or faster, or raw PCM from stdin (`arecord -f S16_LE -r 16000 -c 1 -t raw`).
struct MicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mic",
        abstract: "Publish microphone audio for a stream (from a WAV file, or raw 16 kHz s16le mono PCM on stdin).",
        discussion: """
            Examples:
              s2m3 mic --source mic-1 --file line.wav
              arecord -q -f S16_LE -r 16000 -c 1 -t raw | s2m3 mic --source mic-1 --stdin
              ffmpeg -i rtsp://… -f s16le -ar 16000 -ac 1 - | s2m3 mic --source mic-1 --stdin
            """
    )

    @Option(help: "The source id (the {source} of sources/{source}/audio).")
    var source: String

    @Option(help: ArgumentHelp("Publish this WAV file (converted to 16 kHz mono).", valueName: "file"))
    var file: String?

    @Flag(help: "Read raw 16 kHz 16-bit little-endian mono PCM from stdin, sent as it comes; ends with the input.")
    var stdin = false

    @Flag(help: "Play the file again and again (until --seconds or interrupted).")
    var loop = false

    @Option(help: "Stop after this much audio, seconds (0: the whole file once, or until stdin ends).")
    var seconds: Double = 0

    @Option(help: "Audio per message, ms.")
    var chunkMs: Int = 500

    @Option(help: "Playback speed of a file: 1 is real time, 4 four times faster (capture times stay those of the audio).")
    var speed: Double = 1

    @OptionGroup var bus: BrokerOptions

    func validate() throws {
        guard Topics.isValidIdentifier(source) else { throw ValidationError("--source must be an identifier (letters, digits, '-', '_', '.')") }
        guard (file != nil) != stdin else { throw ValidationError("give exactly one of --file, --stdin") }
        guard !(loop && stdin) else { throw ValidationError("--loop is for --file") }
        guard seconds.isFinite, (0...86_400 * 365).contains(seconds) else { throw ValidationError("--seconds must be 0 or more") }
        guard (20...2_000).contains(chunkMs) else { throw ValidationError("--chunk-ms must be in 20…2000 (a chunk holds at most 2 s)") }
        guard speed.isFinite, (0.1...1_000).contains(speed) else { throw ValidationError("--speed must be in 0.1…1000") }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        let chunkSamples = AudioChunk.sampleRate * chunkMs / 1000
        let audio: MicAudio = try file.map { .file(try Self.load($0)) } ?? .stdin
        let limit = seconds > 0 ? Int(seconds * Double(AudioChunk.sampleRate)) : nil
        let presence = ServicePresence(role: .source, id: source, topics: topics)
        var logger = Logger(label: "s2m3.mic", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: broker.username ?? "s2m3-mic-\(source)", will: try presence.will()), logger: logger)
        do { try await connection.connect() } catch { throw BrokerConnectHint.explain(error, broker: broker) }
        try await connection.publish(presence.state(.online))
        let reader = MicReader(audio: audio, loop: loop)
        let startMs = Double(WallClock.exactMilliseconds)
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        var samples = 0
        while limit.map({ samples < $0 }) ?? true {
            let wanted = min(chunkSamples, limit.map { $0 - samples } ?? chunkSamples)
            guard let chunk = await reader.next(wanted), !chunk.isEmpty else { break }
            let capturedMs = Int(startMs + Double(samples) * 1000 / Double(AudioChunk.sampleRate))
            try await connection.publish(MQTTMessage(
                topic: topics.sourceAudio(source), payload: AudioChunk.payload(chunk),
                properties: MQTTProperties(AudioChunk.properties(sequence: sent, capturedMs: capturedMs)), on: topics))
            sent += 1
            samples += chunk.count
            if case .file = audio {
                // Real time × speed: the end of this chunk's audio, on the wall clock.
                let due = start + .milliseconds(Int(Double(samples) * 1000 / Double(AudioChunk.sampleRate) / speed))
                if due > clock.now { try await Task.sleep(until: due) }
            }
        }
        try await connection.publish(presence.shutdown())
        await connection.disconnect()
        print("sent \(sent) chunks (\(String(format: "%.1f", Double(samples) / Double(AudioChunk.sampleRate))) s of audio)")
    }

    /// A WAV file as 16 kHz mono 16-bit samples (mixed down and resampled as requests' audio is).
    static func load(_ path: String) throws -> [Int16] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        do {
            let signal = try WAVDecoder.decode([UInt8](data), name: path, maxSeconds: 24 * 3_600).resampled(to: AudioChunk.sampleRate)
            return signal.samples.map { Int16(max(-32_768, min(32_767, ($0 * 32_768).rounded()))) }
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

/// Where a microphone's samples come from.
enum MicAudio: Sendable {
    case file([Int16])
    case stdin
}

/// The samples a microphone publishes, chunk by chunk: a file (looped or not) or raw PCM read
/// from stdin (an odd byte is kept for the next read).
actor MicReader {
    private let audio: MicAudio
    private let loop: Bool
    private var position = 0
    private var pending: [UInt8] = []
    private var ended = false

    init(audio: MicAudio, loop: Bool) {
        self.audio = audio
        self.loop = loop
    }

    /// Up to `count` samples; nil at the end.
    func next(_ count: Int) async -> [Int16]? {
        switch audio {
        case .file(let samples):
            guard !samples.isEmpty else { return nil }
            if position >= samples.count {
                guard loop else { return nil }
                position = 0
            }
            let end = min(samples.count, position + count)
            defer { position = end }
            return Array(samples[position..<end])
        case .stdin:
            while pending.count < 2 * count, !ended {
                let data = await Task.detached { FileHandle.standardInput.availableData }.value
                if data.isEmpty { ended = true } else { pending += data }
            }
            let bytes = min(pending.count - pending.count % 2, 2 * count)
            guard bytes > 0 else { return nil }
            defer { pending.removeFirst(bytes) }
            return AudioChunk.samples(Array(pending.prefix(bytes)))
        }
    }
}
