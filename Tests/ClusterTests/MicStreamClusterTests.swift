import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

/// Microphone streams end to end (docs/streams.md): `s2m3 up`, a retained subscription naming
/// `transcribe` and `voice-command`, `s2m3 mic` as a process playing the spoken fixtures with
/// silence between them (faster than real time), results read on `results/+/{source}`.
@Suite("Microphone streams on a local cluster", .serialized)
struct MicStreamClusterTests {
    static let source = "mic-3"
    static let commands = ["turn on the conveyor", "stop the line", "open the gate", "start the camera", "raise the alarm"]
    /// The clips played, in order, with what is said in each.
    static let clips: [(file: String, spoken: String, command: String?)] = [
        ("cmd-stop-line.wav", "stop the line", "stop the line"),
        ("cmd-open-gate.wav", "open the gate", "open the gate"),
        ("sentence-inspection.wav", "The inspection camera found three damaged boxes on the second conveyor belt this morning.", nil),
        ("cmd-raise-alarm.wav", "raise the alarm", "raise the alarm"),
    ]
    static let silenceMs = 1_500

    actor Heard {
        var results: [TaskResult] = []
        var telemetry: [StreamTelemetry] = []
        var errors: [String] = []

        func take(_ message: MQTTMessage, topics: Topics) {
            if message.topic.hasPrefix(topics.root + "/results/"), let result = try? TaskResult(json: message.payload) {
                results.append(result)
            } else if message.topic.contains("/streams/"), let report = try? StreamTelemetry(json: message.payload) {
                telemetry.append(report)
            } else if topics.task(fromErrorTopic: message.topic) != nil {
                errors.append(message.payloadString)
            }
        }

        func reset() { (results, telemetry, errors) = ([], [], []) }
        func snapshot() -> (results: [TaskResult], telemetry: [StreamTelemetry], errors: [String]) { (results, telemetry, errors) }
    }

    /// The 16-bit samples of a 16 kHz mono PCM fixture (its `data` chunk).
    static func samples(_ name: String) throws -> [Int16] {
        let bytes = try ClusterTests.file(name)
        var offset = 12
        while offset + 8 <= bytes.count {
            let size = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            if bytes[offset..<(offset + 4)].elementsEqual("data".utf8) {
                return AudioChunk.samples(Array(bytes[(offset + 8)..<min(bytes.count, offset + 8 + size)]))
            }
            offset += 8 + size + size % 2
        }
        throw ClusterTestError("\(name) has no data chunk")
    }

    /// One WAV file: silence, then each clip followed by silence; the clips' spans in ms.
    static func recording() throws -> (path: String, spans: [(startMs: Double, endMs: Double)]) {
        let silence = [Int16](repeating: 0, count: 16 * silenceMs)
        var all = [Int16](repeating: 0, count: 16 * 1_000)
        var spans: [(Double, Double)] = []
        for clip in clips {
            let samples = try samples(clip.file)
            spans.append((Double(all.count) / 16, Double(all.count + samples.count) / 16))
            all += samples + silence
        }
        let path = NSTemporaryDirectory() + "s2m3-mic-\(UUID().uuidString.prefix(8)).wav"
        try Data(AudioChunk.wav(all)).write(to: URL(fileURLWithPath: path))
        return (path, spans)
    }

    static func subscription() -> StreamSubscription {
        StreamSubscription(source: source, tasks: [
            .init(task: "transcribe"),
            .init(task: "voice-command", inputs: ["commands": .texts(commands)]),
        ])
    }

    static func mic(_ cluster: UpCluster, file: String, speed: Double) async throws -> String {
        let outcome = try await S2M3Run.run(
            ["mic", "--broker", cluster.endpoint.description, "--source", source, "--file", file, "--speed", String(speed)],
            environment: ["S2M3_CACHE": cluster.cache])
        #expect(outcome.status == 0, "\(outcome.output)")
        return outcome.output
    }

    @Test("a microphone playing four spoken clips with silence between: one transcript per utterance, in order, with the right words and times; voice-command picks each command; a cleared subscription stops the results; the mic's last will ends the stream")
    func microphoneStream() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-gflops", "100"])
        let (file, spans) = try Self.recording()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let topics = Topics()
        let listener = cluster.connection("mic-test")
        let heard = Heard()
        do {
            let messages = listener.messages
            try await listener.connect()
            for filter in [topics.streamResults("+", source: Self.source), topics.streamTelemetry("+", source: Self.source), topics.allErrors] {
                try await listener.subscribe(filter)
            }
            let reader = Task { for await message in messages { await heard.take(message, topics: topics) } }
            defer { reader.cancel() }
            let name = topics.streamSubscription("line-mic")
            try await listener.publish(MQTTMessage(topic: name, payload: try Self.subscription().jsonBytes(), qos: .atLeastOnce, retain: true))
            try await Task.sleep(for: .milliseconds(500))

            // About 17 s of audio at 4× real time.
            let output = try await Self.mic(cluster, file: file, speed: 4)
            #expect(output.contains("sent "), "\(output)")
            let expected = Self.clips.count * 2
            do {
                try await within(.seconds(40), "a result per clip and task") {
                    while await heard.snapshot().results.count < expected { try await Task.sleep(for: .milliseconds(200)) }
                }
            } catch {
                let seen = await heard.snapshot()
                Issue.record("heard \(seen.results.map { ($0.task, $0.utterance, $0.outputs) }), telemetry \(String(describing: seen.telemetry.last)), errors \(seen.errors)")
                throw error
            }
            try await Task.sleep(for: .milliseconds(1_500))  // nothing more comes, and one more telemetry
            let run = await heard.snapshot()
            #expect(run.errors.isEmpty, "\(run.errors)")
            let transcripts = run.results.filter { $0.task == "transcribe" }.sorted { ($0.utterance?.index ?? -1) < ($1.utterance?.index ?? -1) }
            #expect(transcripts.count == Self.clips.count, "one transcript per utterance: \(transcripts.map { ($0.utterance, $0.outputs) })")
            #expect(transcripts.map { $0.utterance?.index ?? -1 } == Array(0..<transcripts.count))
            for (clip, (result, span)) in zip(Self.clips, zip(transcripts, spans)) {
                guard case .text(let text)? = result.outputs["transcript"] else { Issue.record("no transcript: \(result.outputs)"); continue }
                let wer = wordErrorRate(text, reference: clip.spoken)
                #expect(wer < 0.2, "\(clip.file): WER \(wer) for \"\(text)\"")
                let utterance = try #require(result.utterance)
                // Within the clip, give or take one 256 ms block.
                #expect(utterance.startMs >= span.startMs - 300 && utterance.startMs < span.endMs, "\(clip.file) at \(span): \(utterance)")
                #expect(utterance.endMs > span.startMs && utterance.endMs <= span.endMs + 300, "\(clip.file) at \(span): \(utterance)")
                #expect(utterance.endReason == .silence && !utterance.gap && utterance.source == Self.source)
                print("mic: \(clip.file) → \"\(text)\" at \(utterance.startMs)–\(utterance.endMs) ms (clip \(span.startMs)–\(span.endMs)), \(Int(result.totalMs)) ms after its end was found")
            }
            let matches = run.results.filter { $0.task == "voice-command" }.sorted { ($0.utterance?.index ?? -1) < ($1.utterance?.index ?? -1) }
            #expect(matches.count == Self.clips.count)
            for (clip, result) in zip(Self.clips, matches) {
                guard let command = clip.command else { continue }
                guard case .labels(let labels)? = result.outputs["match"] else { Issue.record("no match: \(result.outputs)"); continue }
                #expect(labels.first?.label == command, "\(clip.file): \(labels.prefix(2))")
            }
            let last = try #require(run.telemetry.last)
            #expect(last.utterances == Self.clips.count)
            #expect(last.drops.isEmpty, "\(last.drops)")
            #expect(!last.sourceOnline, "the mic said offline when it stopped")

            // Removing the subscription stops the results.
            try await listener.publish(MQTTMessage(topic: name, payload: [], qos: .atLeastOnce, retain: true))
            try await Task.sleep(for: .milliseconds(500))
            await heard.reset()
            _ = try await Self.mic(cluster, file: file, speed: 8)
            try await Task.sleep(for: .seconds(2))
            #expect(await heard.snapshot().results.isEmpty, "no results after the subscription is cleared")

            // The mic's last will ends its stream: the telemetry says the source is gone.
            try await listener.publish(MQTTMessage(topic: name, payload: try Self.subscription().jsonBytes(), qos: .atLeastOnce, retain: true))
            try await Task.sleep(for: .milliseconds(500))
            let mic = try ChildProcess.spawn(
                try TestPaths.s2m3Executable,
                ["mic", "--broker", cluster.endpoint.description, "--source", Self.source, "--file", file, "--loop"],
                stdout: .null, stderr: .null, environment: ["S2M3_CACHE": cluster.cache])
            try await Task.sleep(for: .seconds(3))
            mic.send(SIGKILL)
            await mic.waitUntilExit()
            // Keep-alive 10 s × 1.5: the broker publishes the will within 15 s.
            try await within(.seconds(25), "the stream to end after the mic's last will") {
                while true {
                    await heard.reset()
                    try await Task.sleep(for: .milliseconds(1_200))
                    if let report = await heard.snapshot().telemetry.last, !report.sourceOnline, report.framesIn > 0 { return }
                }
            }
            #expect(await heard.snapshot().errors.isEmpty)
            try await listener.publish(MQTTMessage(topic: name, payload: [], qos: .atLeastOnce, retain: true))
            await listener.disconnect()
        } catch {
            await listener.disconnect()
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
