import ArgumentParser
import Foundation
import LocalCluster
import Logging
import MQTTBus
import S2M3Bus
import S2M3Client
import S2M3Core

/// `s2m3 bench mic`: one microphone, `transcribe` + `voice-command`, on a running cluster. The
/// recording is four spoken fixtures with 1.5 s of silence between. Side by side in one run: the
/// stream in real time (end of speech → transcript latency), the stream unpaced (real-time factor:
/// wall time to the last transcript over the audio's length), and the baseline of one `transcribe`
/// request per clip, already cut (request → result latency; the requests' time over the clips'
/// audio).
struct BenchMicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mic",
        abstract: "Microphone stream benchmark: real-time factor and end-of-utterance → transcript latency vs requests per clip.")

    static let source = "bench-mic"
    static let clips = ["cmd-stop-line.wav", "cmd-open-gate.wav", "sentence-inspection.wav", "cmd-raise-alarm.wav"]

    @OptionGroup var bus: BrokerOptions

    @Option(help: "Times the recording is played in each phase.")
    var rounds: Int = 2

    func validate() throws {
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1…100") }
    }

    actor Inbox {
        var results: [(result: TaskResult, atMs: Double)] = []
        func add(_ result: TaskResult) { results.append((result, WallClock.exactMilliseconds)) }
        func transcripts() -> [(result: TaskResult, atMs: Double)] { results.filter { $0.result.task == "transcribe" } }
        func take() -> [(result: TaskResult, atMs: Double)] { defer { results = [] }; return results }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        var logger = Logger(label: "s2m3.bench-mic", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let clips = try Self.clips.map { try MicCommand.load(CacheDirectory.fixtures + "/" + $0) }
        let silence = [Int16](repeating: 0, count: 16 * 1_500)
        let recording = silence + clips.flatMap { $0 + silence }
        let seconds = Double(recording.count) / Double(AudioChunk.sampleRate)
        let listener = MQTTConnection(configuration: broker.configuration(clientID: "s2m3-bench-mic-\(getpid())"), logger: logger)
        let messages = listener.messages
        try await listener.connect()
        try await listener.subscribe(topics.streamResults("+", source: Self.source))
        let inbox = Inbox()
        let reader = Task { for await message in messages { if let result = try? TaskResult(json: message.payload) { await inbox.add(result) } } }
        defer { reader.cancel() }
        let subscription = StreamSubscription(source: Self.source, tasks: [
            .init(task: "transcribe"),
            .init(task: "voice-command", inputs: ["commands": .texts(["turn on the conveyor", "stop the line", "open the gate", "raise the alarm"])]),
        ])
        let name = topics.streamSubscription("bench-mic")
        try await listener.publish(MQTTMessage(topic: name, control: subscription, on: topics))
        try await Task.sleep(for: .milliseconds(500))
        var sequence = 0

        // Warm-up: one unpaced round, every module loaded.
        try await publish(recording, listener, topics: topics, paced: false, sequence: &sequence)
        try await Self.wait(inbox, for: clips.count, limit: 120)
        _ = await inbox.take()

        // Real time: end of speech (capture clock) → transcript.
        var endLatency: [Double] = [], foundLatency: [Double] = []
        for _ in 0..<rounds {
            try await publish(recording, listener, topics: topics, paced: true, sequence: &sequence)
            try await Self.wait(inbox, for: clips.count, limit: 120)
            for (result, atMs) in await inbox.take() where result.task == "transcribe" {
                guard let utterance = result.utterance else { continue }
                endLatency.append(atMs - (Double(utterance.capturedMs) + utterance.endMs - utterance.startMs))
                foundLatency.append(result.totalMs)
            }
        }

        // Unpaced: how fast the stream gets through the audio.
        var streamFactors: [Double] = []
        for _ in 0..<rounds {
            let start = WallClock.exactMilliseconds
            try await publish(recording, listener, topics: topics, paced: false, sequence: &sequence)
            try await Self.wait(inbox, for: clips.count, limit: 300)
            let last = await inbox.take().filter { $0.result.task == "transcribe" }.map(\.atMs).max() ?? .nan
            streamFactors.append((last - start) / 1000 / seconds)
        }
        try await listener.publish(MQTTMessage.clearing(name, on: topics))

        // Baseline: one transcribe request per clip, already cut.
        let client = S2M3Client(broker: broker, clientID: "s2m3-bench-mic-client-\(getpid())", topics: topics, logger: logger)
        try await client.connect()
        var requestLatency: [Double] = [], requestFactors: [Double] = []
        let clipSeconds = Double(clips.reduce(0) { $0 + $1.count }) / Double(AudioChunk.sampleRate)
        for _ in 0..<rounds {
            let start = WallClock.exactMilliseconds
            for clip in clips {
                let sent = WallClock.exactMilliseconds
                _ = try await client.request(task: "transcribe", inputs: ["audio": .media(contentType: MediaType.wav, bytes: AudioChunk.wav(clip))], timeout: .seconds(60))
                requestLatency.append(WallClock.exactMilliseconds - sent)
            }
            requestFactors.append((WallClock.exactMilliseconds - start) / 1000 / clipSeconds)
        }
        await client.close()
        await listener.disconnect()

        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        let p = BenchStreamsCommand.percentile, median = BenchStreamsCommand.median
        print("""
            | \(f(seconds)) s recording, 4 utterances, \(rounds) rounds | microphone stream | transcribe request per clip (baseline) |
            |---|---|---|
            | real-time factor (median; wall time / audio) | \(f(median(streamFactors), 2)) (unpaced, over the whole recording) | \(f(median(requestFactors), 2)) (over the clips only) |
            | latency p50, ms | \(f(p(endLatency, 0.5))) end of speech → transcript; \(f(p(foundLatency, 0.5))) end found → transcript | \(f(p(requestLatency, 0.5))) request → result |
            | latency p99, ms | \(f(p(endLatency, 0.99))); \(f(p(foundLatency, 0.99))) | \(f(p(requestLatency, 0.99))) |
            | transcripts | \(endLatency.count) (real time) | \(requestLatency.count) |
            """)
    }

    /// Publishes `samples` as 0.5 s chunks, in real time or as fast as the bus takes them, as one
    /// session of the microphone (online, chunks from sequence 0, offline): the capture clock of
    /// each round starts at its own start.
    func publish(_ samples: [Int16], _ connection: MQTTConnection, topics: Topics, paced: Bool, sequence: inout Int) async throws {
        let presence = ServicePresence(role: .source, id: Self.source, topics: topics)
        try await connection.publish(presence.state(.online))
        sequence = 0
        let clock = ContinuousClock(), start = clock.now
        let startMs = WallClock.exactMilliseconds
        var offset = 0
        while offset < samples.count {
            let end = min(samples.count, offset + 8_000)
            let properties = AudioChunk.properties(sequence: sequence, capturedMs: Int(startMs + Double(offset) / 16))
            try await connection.publish(MQTTMessage(
                topic: topics.sourceAudio(Self.source), payload: AudioChunk.payload(samples[offset..<end]),
                properties: MQTTProperties(properties), on: topics))
            sequence += 1
            offset = end
            if paced { try await Task.sleep(until: start + .milliseconds(offset / 16)) }
        }
        try await connection.publish(presence.shutdown())
    }

    /// Waits until `count` new transcripts arrived (or `limit` seconds).
    static func wait(_ inbox: Inbox, for count: Int, limit: Double) async throws {
        let end = ContinuousClock.now + .seconds(limit)
        while await inbox.transcripts().count < count, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .seconds(2))  // the voice-command results of the last one
    }
}
