import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

/// Camera streams end to end (docs/streams.md): `s2m3 up`, a subscription declared in a file, `s2m3 camera`
/// as a process publishing real photos, results read on `results/+/{source}`.
@Suite("Camera streams on a local cluster", .serialized)
struct StreamClusterTests {
    static let source = "cam-7"
    static let tasks = ["classify-image", "match-image-text", "describe-scene"]

    /// What the test heard on the bus.
    actor Heard {
        var results: [TaskResult] = []
        var telemetry: [StreamTelemetry] = []
        var trunkInvocations = 0
        var errors: [String] = []

        func take(_ message: MQTTMessage, topics: Topics) {
            if message.topic.hasPrefix(topics.root + "/results/"), let result = try? TaskResult(json: message.payload) {
                results.append(result)
            } else if message.topic.contains("/streams/"), let report = try? StreamTelemetry(json: message.payload) {
                telemetry.append(report)
            } else if topics.invocation(fromInvokeTopic: message.topic) != nil {
                // The trunk runs invoked on its own topic or chained after image-preprocess (topics.md, "Chains").
                guard let bundle = try? TensorBundle(decoding: message.payload), let invoke = try? InvokeRequest(bundle: bundle) else { return }
                trunkInvocations += ([invoke.module] + invoke.chain.map(\.module)).filter { $0 == "effnet-lite0-trunk" }.count
            } else if topics.task(fromErrorTopic: message.topic) != nil {
                errors.append(message.payloadString)
            }
        }

        func reset() { (results, telemetry, trunkInvocations) = ([], [], 0) }
        func snapshot() -> (results: [TaskResult], telemetry: [StreamTelemetry], trunk: Int, errors: [String]) {
            (results, telemetry, trunkInvocations, errors)
        }
    }

    static func subscription() throws -> StreamSubscription {
        StreamSubscription(source: source, tasks: [
            .init(task: "classify-image"),
            .init(task: "match-image-text", inputs: ["texts": .texts(["a cat", "a cup of espresso", "a rocket on its launch pad"])]),
            .init(task: "describe-scene", inputs: ["audio": try ClusterTests.audio("cmd-stop-line.wav")]),
        ])
    }

    /// A `--streams-config` file declaring ``subscription()`` as `line-3`.
    static func streamsConfig() throws -> String {
        let path = NSTemporaryDirectory() + "s2m3-streams-\(UUID().uuidString.prefix(8)).json"
        let entry = String(decoding: try subscription().jsonBytes(), as: UTF8.self)
        try Data("{\"line-3\": \(entry)}".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Whether `result` is right for the photo of its frame (the camera sends chelsea, coffee,
    /// rocket in turn from sequence 0) and complete.
    static func check(_ result: TaskResult) {
        let photo = (result.frame?.sequence ?? -1) % 3
        func top(_ name: String) -> String? {
            if case .labels(let labels)? = result.outputs[name] { return labels.first?.label }
            return nil
        }
        switch result.task {
        case "classify-image":
            #expect(top("top") == [0: "Egyptian cat", 1: "espresso"][photo] ?? top("top"), "frame \(photo): \(result.outputs)")
            #expect(top("top") != nil)
        case "match-image-text":
            #expect(top("scores") == [0: "a cat", 1: "a cup of espresso"][photo] ?? top("scores"), "frame \(photo): \(result.outputs)")
            #expect(top("scores") != nil)
        default:
            #expect(Set(result.outputs.keys) == ["top", "transcript", "summary"])
            guard case .text(let transcript)? = result.outputs["transcript"] else { Issue.record("no transcript: \(result.outputs)"); return }
            #expect(transcript.lowercased().contains("stop"), "cmd-stop-line.wav: \(transcript)")
        }
    }

    /// A folder with three real photos for `s2m3 camera --folder`.
    static func frames() throws -> String {
        let folder = NSTemporaryDirectory() + "s2m3-frames-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["chelsea.jpg", "coffee.jpg", "rocket.jpg"] {
            try Data(try ClusterTests.file(name)).write(to: URL(fileURLWithPath: folder + "/" + name))
        }
        return folder
    }

    static func camera(_ cluster: UpCluster, folder: String, fps: Double, count: Int) async throws -> Int {
        let outcome = try await S2M3Run.run(
            ["camera", "--broker", cluster.endpoint.description, "--source", source, "--folder", folder,
             "--fps", String(fps), "--count", String(count)], environment: ["S2M3_CACHE": cluster.cache])
        #expect(outcome.status == 0, "\(outcome.output)")
        return Int(outcome.output.split(separator: "\n").first { $0.hasPrefix("sent ") }?.split(separator: " ")[1] ?? "") ?? -1
    }

    /// Waits until the stream is idle: the telemetry counted every frame sent and every processed
    /// frame has its results (or `limit` passes).
    static func settle(_ heard: Heard, sent: Int, limit: Duration = .seconds(30)) async throws {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            let now = await heard.snapshot()
            // The camera's run is over (offline) and every frame it processed has its results.
            if let last = now.telemetry.last, !last.sourceOnline, last.framesIn == sent, !now.results.isEmpty,
               Set(now.results.map(\.requestID)).count == last.framesProcessed,
               now.results.count == last.tasks.values.reduce(0, { $0 + $1.framesProcessed }) {
                try await Task.sleep(for: .milliseconds(1_200))  // one more telemetry after the last result
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Per frame: the latest of its tasks' results (frame arrival → last result), ms.
    static func frameLatencies(_ results: [TaskResult]) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for result in results { if let sequence = result.frame?.sequence { out[sequence] = max(out[sequence] ?? 0, result.totalMs) } }
        return out
    }

    @Test("a camera at 10 fps with three tasks declared in --streams-config: each task paced on its own (classify-image gets at least twice the results of describe-scene), every result right for its photo, the trunk ran once per processed frame, per task and per frame processed + skipped = sent; overload keeps latency bounded; an empty retained subscription and the camera's last will end the stream")
    func cameraStream() async throws {
        let config = try Self.streamsConfig()
        defer { try? FileManager.default.removeItem(atPath: config) }
        let cluster = try await UpCluster(["--devices", "3", "--device-gflops", "100", "--streams-config", config])
        let folder = try Self.frames()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let topics = Topics()
        let listener = cluster.connection("stream-test")
        let heard = Heard()
        do {
            let messages = listener.messages
            try await listener.connect()
            for filter in [topics.streamResults("+", source: Self.source), topics.streamTelemetry("+", source: Self.source),
                           topics.allModuleInvocations, topics.allErrors] {
                try await listener.subscribe(filter)
            }
            let reader = Task { for await message in messages { await heard.take(message, topics: topics) } }
            defer { reader.cancel() }
            // No retained subscription: `line-3` comes from the file the aggregator was started with.
            let name = topics.streamSubscription("line-3")

            // One frame alone: the single-frame latency (warm-up frames first, so models are loaded).
            _ = try await Self.camera(cluster, folder: folder, fps: 1, count: 2)
            try await Self.settle(heard, sent: 2)
            await heard.reset()
            let single = try await Self.camera(cluster, folder: folder, fps: 1, count: 1)
            try await Self.settle(heard, sent: 1)
            let alone = await heard.snapshot()
            let singleMs = try #require(Self.frameLatencies(alone.results).values.max(), "no result for a single frame: \(alone.errors)")
            #expect(single == 1)
            #expect(Set(alone.results.map(\.task)) == Set(Self.tasks), "the declared subscription runs its three tasks")
            await heard.reset()

            // 10 fps for 6 s: more than the cluster sustains (describe-scene runs Whisper per frame).
            let sent = try await Self.camera(cluster, folder: folder, fps: 10, count: 60)
            #expect(sent == 60)
            try await Self.settle(heard, sent: sent)
            let run = await heard.snapshot()
            let last = try #require(run.telemetry.last)
            let bySequence = Dictionary(grouping: run.results) { $0.frame?.sequence ?? -1 }
            #expect(!bySequence.isEmpty)
            for (sequence, results) in bySequence {
                #expect(Set(results.map(\.task)).count == results.count, "frame \(sequence): at most one result per task")
                for result in results {
                    Self.check(result)
                    // The tasks that ran the frame ran it together: the trunk once, shared by all of them.
                    #expect(result.timeline.filter { $0.node == "trunk" }.count == 1)
                    let sharers = Set(result.timeline.first { $0.node == "trunk" }?.sharedWith ?? []).union([result.task])
                    #expect(sharers == Set(results.map(\.task)), "frame \(sequence): \(result.task) shares the trunk with \(sharers)")
                }
            }
            #expect(run.trunk == bySequence.count, "the trunk ran once per processed frame: \(run.trunk) runs, \(bySequence.count) frames")
            // The figures of this camera run (they start over when a source comes back online).
            let dropped = ["superseded", "expired", "rate", "bad-frame", "ended", "error", "unsubscribed"].reduce(0) { $0 + (last.drops[$1] ?? 0) }
            #expect(last.framesIn == sent)
            #expect(last.framesProcessed == bySequence.count)
            #expect(dropped + last.framesProcessed == last.framesIn, "dropped \(last.drops) + processed \(last.framesProcessed) = sent \(last.framesIn)")
            var perTask: [String: Int] = [:]
            for result in run.results { perTask[result.task, default: 0] += 1 }
            for task in Self.tasks {
                let figures = try #require(last.tasks[task], "\(task) in the telemetry")
                #expect(figures.framesIn == sent, "\(task): \(figures)")
                #expect(figures.framesProcessed + figures.skipped.values.reduce(0, +) == figures.framesIn, "\(task): \(figures)")
                #expect(figures.framesProcessed == perTask[task] ?? 0, "\(task): every frame it ran has its result")
            }
            // The slow task does not set the fast ones' pace.
            let classify = perTask["classify-image"] ?? 0, describe = perTask["describe-scene"] ?? 0
            #expect(describe >= 1)
            #expect(classify >= 2 * describe, "classify-image \(classify) results vs describe-scene \(describe)")
            #expect((last.tasks["describe-scene"]?.skipped["busy"] ?? 0) > 0, "describe-scene, busy, skipped frames classify-image ran")
            // Overloaded (single frame \(singleMs) ms vs a frame every 100 ms): latency stays bounded.
            let latencies = run.results.map(\.totalMs).sorted()
            let p99 = latencies[min(latencies.count - 1, Int((0.99 * Double(latencies.count)).rounded(.up)) - 1)]
            #expect(1000 / singleMs * 5 <= 10 || latencies.count > 30, "the camera runs at ≥ 5× what the cluster sustains (single frame \(singleMs) ms)")
            #expect(p99 < 2 * singleMs, "p99 \(p99) ms vs single frame \(singleMs) ms")
            print("stream: sent \(sent), processed \(bySequence.count), results \(perTask), drops \(last.drops), skipped \(last.tasks.mapValues(\.skipped)), trunk runs \(run.trunk), single frame \(Int(singleMs)) ms, p99 \(Int(p99)) ms")
            #expect(run.errors.isEmpty, "\(run.errors)")

            // An empty retained message of its name ends the declared subscription: no more results.
            try await listener.publish(MQTTMessage(topic: name, payload: [], qos: .atLeastOnce, retain: true))
            try await Task.sleep(for: .milliseconds(500))
            await heard.reset()
            _ = try await Self.camera(cluster, folder: folder, fps: 10, count: 10)
            try await Task.sleep(for: .seconds(2))
            #expect(await heard.snapshot().results.isEmpty, "no results after the subscription is cleared")

            // The camera's last will ends its stream: the telemetry says the source is gone.
            try await listener.publish(MQTTMessage(topic: name, payload: try Self.subscription().jsonBytes(), qos: .atLeastOnce, retain: true))
            try await Task.sleep(for: .milliseconds(500))
            let camera = try ChildProcess.spawn(
                try TestPaths.s2m3Executable,
                ["camera", "--broker", cluster.endpoint.description, "--source", Self.source, "--folder", folder, "--fps", "10"],
                stdout: .null, stderr: .null, environment: ["S2M3_CACHE": cluster.cache])
            try await Task.sleep(for: .seconds(2))
            camera.send(SIGKILL)
            await camera.waitUntilExit()
            // Keep-alive 10 s × 1.5: the broker publishes the will within 15 s.
            try await within(.seconds(25), "the stream to end after the camera's last will") {
                while true {
                    await heard.reset()
                    try await Task.sleep(for: .milliseconds(1_200))
                    if let report = await heard.snapshot().telemetry.last, !report.sourceOnline, report.framesIn > 0 { return }
                }
            }
            try await listener.publish(MQTTMessage(topic: name, payload: [], qos: .atLeastOnce, retain: true))
            await listener.disconnect()
        } catch {
            await listener.disconnect()
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// A stream subscription file the catalog cannot serve, or that is not one: `s2m3 up` and
    /// `s2m3 aggregator` refuse to start, naming the file and the problem.
    @Test("a bad --streams-config: up and aggregator exit non-zero naming the file and the problem")
    func badStreamsConfig() async throws {
        let path = NSTemporaryDirectory() + "s2m3-bad-streams-\(UUID().uuidString.prefix(8)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let catalog = TestPaths.repository.appendingPathComponent("catalog/default.json").path
        let models = TestPaths.cache.appendingPathComponent("models").path
        let cases: [(String, String)] = [
            (#"{"line-3": {"schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": [{"task": "match-image-text"}]}}"#,
             "stream subscription 'line-3' is refused: task 'match-image-text' needs input 'texts' in the subscription"),
            (#"{"line-3": {"schema": "s2m3.stream-subscription/1", "source": "cam 1", "tasks": [{"task": "classify-image"}]}}"#,
             "subscription 'line-3' cannot be read"),
            ("[{", "is not JSON"),
        ]
        for (text, expected) in cases {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let up = try await S2M3Run.run(
                ["up", "--catalog", catalog, "--models", models, "--port", "0", "--streams-config", path],
                environment: ["S2M3_CACHE": try S2M3Run.privateCache()])
            #expect(up.status != 0 && up.status != nil, "up started with \(text)")
            #expect(up.output.contains(path) && up.output.contains(expected), "up: \(up.output)")
            let aggregator = try await S2M3Run.run(
                ["aggregator", "--id", "agg-1", "--broker", "127.0.0.1:1", "--catalog", catalog, "--streams-config", path])
            #expect(aggregator.status != 0 && aggregator.status != nil, "aggregator started with \(text)")
            #expect(aggregator.output.contains(path) && aggregator.output.contains(expected), "aggregator: \(aggregator.output)")
        }
    }
}
