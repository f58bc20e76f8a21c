import ArgumentParser
import Foundation
import LocalCluster
import Logging
import MQTTBus
import S2M3Bus
import S2M3Client
import S2M3Core

/// `s2m3 bench streams`: one camera, three image tasks, on a running cluster (scripts/bench-streams.sh
/// starts one). Side by side in one run: a stream subscription (each frame's tasks merged, shared
/// nodes once, each task paced on its own) vs three independent requests per frame — invocations
/// and compute time per frame, sustained frames/s and results/s per task; then the stream's
/// latency per task at several camera rates.
struct BenchStreamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Camera stream benchmark: merged per-frame graph vs independent requests; latency per task by frame rate.")

    static let tasks = ["classify-image", "match-image-text", "describe-scene"]
    static let source = "bench-cam"

    @OptionGroup var bus: BrokerOptions

    @Option(help: "Seconds per phase.")
    var seconds: Double = 10

    @Option(help: "Camera rate of the sustained-throughput phase (above what the cluster sustains), frames/s.")
    var overloadFps: Double = 20

    @Option(parsing: .upToNextOption, help: "Camera rates of the latency phases, frames/s.")
    var rates: [Double] = [1, 5, 10]

    func validate() throws {
        guard seconds.isFinite, (1...600).contains(seconds) else { throw ValidationError("--seconds must be in 1…600") }
        guard overloadFps.isFinite, (0.1...240).contains(overloadFps) else { throw ValidationError("--overload-fps must be in 0.1…240") }
        guard !rates.isEmpty, rates.allSatisfy({ $0.isFinite && (0.1...240).contains($0) }) else { throw ValidationError("--rates must be in 0.1…240") }
    }

    /// What one frame cost: invocations and their compute time (unique invocations of its results).
    struct FrameCost { var invocations: Int; var computeMs: Double }

    actor Inbox {
        var results: [TaskResult] = []
        func add(_ result: TaskResult) { results.append(result) }
        func take() -> [TaskResult] { defer { results = [] }; return results }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        var logger = Logger(label: "s2m3.bench-streams", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let image = try Self.fixture("chelsea.jpg"), audio = try Self.fixture("cmd-stop-line.wav").bytes
        let texts = TaskInput.texts(["a cat", "a cup of espresso", "a rocket on its launch pad"])
        let listener = MQTTConnection(configuration: broker.configuration(clientID: "s2m3-bench-streams-\(getpid())"), logger: logger)
        let messages = listener.messages
        try await listener.connect()
        try await listener.subscribe(topics.streamResults("+", source: Self.source))
        let inbox = Inbox()
        let reader = Task { for await message in messages { if let result = try? TaskResult(json: message.payload) { await inbox.add(result) } } }
        defer { reader.cancel() }
        let subscription = StreamSubscription(source: Self.source, tasks: [
            .init(task: "classify-image"),
            .init(task: "match-image-text", inputs: ["texts": texts]),
            .init(task: "describe-scene", inputs: ["audio": .media(contentType: MediaType.wav, bytes: audio)]),
        ])
        let name = topics.streamSubscription("bench-streams")
        try await listener.publish(MQTTMessage(topic: name, control: subscription, on: topics))
        try await Task.sleep(for: .milliseconds(500))

        // Warm-up: every module loaded and run once.
        _ = try await camera(listener, topics: topics, image: image, fps: 2, seconds: 2)
        try await Task.sleep(for: .seconds(5))
        _ = await inbox.take()

        // Merged: a camera faster than the cluster; frames processed per second and cost per frame.
        let offered = try await camera(listener, topics: topics, image: image, fps: overloadFps, seconds: seconds)
        try await Task.sleep(for: .seconds(5))
        let overload = await inbox.take()
        let merged = Self.frames(overload)
        let mergedCosts = merged.values.map(Self.cost)
        let mergedPerTask = Dictionary(grouping: overload, by: \.task).mapValues(\.count)
        // Latency per task at each rate.
        var latency: [(fps: Double, sent: Int, frames: Int, byTask: [String: [Double]])] = []
        for fps in rates {
            let sent = try await camera(listener, topics: topics, image: image, fps: fps, seconds: seconds)
            try await Task.sleep(for: .seconds(5))
            let results = await inbox.take()
            latency.append((fps, sent, Set(results.compactMap { $0.frame?.sequence }).count,
                            Dictionary(grouping: results, by: \.task).mapValues { $0.map(\.totalMs) }))
        }
        try await listener.publish(MQTTMessage.clearing(name, on: topics))

        // Independent: three requests per frame, one frame at a time, for the same time.
        let client = S2M3Client(broker: broker, clientID: "s2m3-bench-streams-client-\(getpid())", topics: topics, logger: logger)
        try await client.connect()
        var independentCosts: [FrameCost] = []
        let clock = ContinuousClock(), end = clock.now + .seconds(seconds)
        let started = clock.now
        while clock.now < end {
            let results = try await withThrowingTaskGroup(of: TaskResult.self) { group in
                group.addTask { try await client.request(task: "classify-image", inputs: ["image": image.input], timeout: .seconds(30)) }
                group.addTask { try await client.request(task: "match-image-text", inputs: ["image": image.input, "texts": texts], timeout: .seconds(30)) }
                group.addTask {
                    try await client.request(
                        task: "describe-scene", inputs: ["image": image.input, "audio": .media(contentType: MediaType.wav, bytes: audio)], timeout: .seconds(30))
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            independentCosts.append(FrameCost(
                invocations: results.reduce(0) { $0 + $1.timeline.count }, computeMs: results.reduce(0) { $0 + $1.timeline.reduce(0) { $0 + $1.computeMs } }))
        }
        let independentSeconds = Self.seconds(started.duration(to: clock.now))
        await client.close()
        await listener.disconnect()

        print(Self.tables(
            seconds: seconds, merged: mergedCosts, mergedFrames: merged.count, mergedPerTask: mergedPerTask, offered: offered, independent: independentCosts,
            independentSeconds: independentSeconds, latency: latency))
    }

    /// Publishes `image` as frames of `source` at `fps` for `seconds`; returns how many.
    func camera(_ connection: MQTTConnection, topics: Topics, image: (bytes: [UInt8], input: TaskInput), fps: Double, seconds: Double) async throws -> Int {
        let clock = ContinuousClock(), end = clock.now + .seconds(seconds)
        var next = clock.now, sent = 0
        while clock.now < end {
            let properties = StreamFrame.properties(contentType: MediaType.jpeg, sequence: sent, capturedMs: WallClock.milliseconds, lifeMs: 2_000)
            try await connection.publish(MQTTMessage(
                topic: topics.sourceFrames(Self.source), payload: image.bytes, properties: MQTTProperties(properties), on: topics))
            sent += 1
            next += .seconds(1 / fps)
            if next < clock.now { next = clock.now }
            try await Task.sleep(until: next)
        }
        return sent
    }

    static func fixture(_ name: String) throws -> (bytes: [UInt8], input: TaskInput) {
        let path = CacheDirectory.fixtures + "/" + name
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("missing \(path): run scripts/setup.sh") }
        let bytes = [UInt8](data)
        return (bytes, .media(contentType: MediaType.sniff(bytes) ?? MediaType.jpeg, bytes: bytes))
    }


    /// Frames (by sequence) with a result of every task.
    static func frames(_ results: [TaskResult]) -> [Int: [TaskResult]] {
        Dictionary(grouping: results) { $0.frame?.sequence ?? -1 }.filter { Set($0.value.map(\.task)) == Set(tasks) }
    }

    /// The unique invocations of one frame's results (a shared one appears in several timelines).
    static func cost(_ results: [TaskResult]) -> FrameCost {
        var seen: Set<String> = [], cost = FrameCost(invocations: 0, computeMs: 0)
        for entry in results.flatMap(\.timeline) where seen.insert("\(entry.module)|\(entry.device)|\(entry.attempt)|\(entry.startMs)").inserted {
            cost.invocations += 1
            cost.computeMs += entry.computeMs
        }
        return cost
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count, max(1, Int((fraction * Double(sorted.count)).rounded(.up)))) - 1]
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func tables(
        seconds: Double, merged: [FrameCost], mergedFrames: Int, mergedPerTask: [String: Int], offered: Int, independent: [FrameCost],
        independentSeconds: Double,
        latency: [(fps: Double, sent: Int, frames: Int, byTask: [String: [Double]])]
    ) -> String {
        func f(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        let mergedInvocations = median(merged.map { Double($0.invocations) }), independentInvocations = median(independent.map { Double($0.invocations) })
        let mergedCompute = median(merged.map(\.computeMs)), independentCompute = median(independent.map(\.computeMs))
        let mergedFps = Double(mergedFrames) / seconds, independentFps = Double(independent.count) / independentSeconds
        var lines = [
            "| per frame (medians) | merged stream | 3 independent requests | ratio |",
            "|---|---|---|---|",
            "| invocations | \(f(mergedInvocations, 0)) | \(f(independentInvocations, 0)) | \(f(mergedInvocations / independentInvocations, 2)) |",
            "| compute time, ms (sum over invocations) | \(f(mergedCompute)) | \(f(independentCompute)) | \(f(mergedCompute / independentCompute, 2)) |",
            "| sustained frames/s (all 3 results) | \(f(mergedFps, 2)) (\(mergedFrames) of \(offered) offered in \(f(seconds, 0)) s) | \(f(independentFps, 2)) (\(independent.count) in \(f(independentSeconds, 1)) s) | \(f(mergedFps / independentFps, 2)) |",
        ] + tasks.map { task in
            let rate = Double(mergedPerTask[task] ?? 0) / seconds
            return "| \(task) results/s | \(f(rate, 2)) (\(mergedPerTask[task] ?? 0)) | \(f(independentFps, 2)) | \(f(rate / independentFps, 2)) |"
        } + [
            "",
            "| camera fps | frames sent | frames processed | task | latency p50, ms | p99, ms |",
            "|---|---|---|---|---|---|",
        ]
        for phase in latency {
            for task in tasks {
                let values = phase.byTask[task] ?? []
                lines.append("| \(f(phase.fps, 0)) | \(phase.sent) | \(phase.frames) | \(task) | \(f(percentile(values, 0.5))) | \(f(percentile(values, 0.99))) |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
