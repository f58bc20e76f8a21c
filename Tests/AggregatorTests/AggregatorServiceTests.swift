import Aggregator
import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import Testing
import TestSupport

/// The aggregator service against a real Mosquitto: bad requests, deadlines, routing over the bus
/// with scripted devices, and the `s2m3 aggregator` command as a child process.
@Suite("Aggregator service", .serialized)
struct AggregatorServiceTests {
    struct Sent: Sendable {
        var id: String
        var task: String
        var payload: [UInt8]
        var contentType: String?
        var code: TaskErrorCode
    }

    /// Each bad request is answered on errors/{task} and on its response topic with its correlation
    /// data and the right code; garbage on every other topic is ignored; then a request with a plan
    /// whose device never answers gets deadline-exceeded, and the service is still serving.
    @Test func answersBadRequestsAndKeepsServing() async throws {
        try await BrokerHarness.withBroker { harness in
            let topics = harness.topics
            let service = try harness.aggregator { $0.maxPayloadBytes = 64 * 1024 }
            try await withService(service) {
                let watcher = harness.connection("watcher")
                try await watcher.connect()
                let inbox = watcher.messages
                let replyTopic = topics.clientReplies("watcher")
                try await watcher.subscribe("\(topics.root)/errors/+")
                try await watcher.subscribe(replyTopic)
                for topic in [topics.plan, topics.deviceState("x"), topics.deviceTelemetry("x"), topics.aggregatorPartials("agg-1")] {
                    try await watcher.publish(MQTTMessage(topic: topic, payload: [0xDE, 0xAD, 0xBE, 0xEF]))
                }
                let json = { (text: String) in Array(text.utf8) }
                let sent = [
                    Sent(id: "bad-1", task: "no-such-task", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"text":"hi"}}"#), contentType: MediaType.json, code: .unknownTask),
                    Sent(id: "bad-2", task: "match-image-text", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"texts":["a"]}}"#), contentType: MediaType.json, code: .missingInput),
                    Sent(id: "bad-3", task: "classify-image", payload: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], contentType: MediaType.jpeg, code: .badInput),
                    Sent(id: "bad-4", task: "classify-image", payload: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55], contentType: nil, code: .malformedRequest),
                    Sent(id: "bad-5", task: "classify-image", payload: [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 1, count: 100_000), contentType: MediaType.jpeg, code: .payloadTooLarge),
                    Sent(id: "bad-6", task: "classify-image", payload: json(#"{"schema":"s2m3.device-state/1","inputs":{"text":"x"}}"#), contentType: MediaType.json, code: .malformedRequest),
                ]
                for request in sent {
                    try await watcher.publish(MQTTMessage(
                        topic: topics.requests(request.task), payload: request.payload,
                        properties: MQTTProperties(contentType: request.contentType, correlationData: Array(request.id.utf8), responseTopic: replyTopic)))
                }
                // Every request: one error on errors/{task} and one on the response topic.
                let answers = try await within(.seconds(10), "the errors of \(sent.count) bad requests") {
                    var seen: [String: [(String, TaskErrorMessage)]] = [:]
                    for await message in inbox {
                        let error = try TaskErrorMessage(json: message.payload)
                        let id = String(decoding: message.properties.correlationData ?? [], as: UTF8.self)
                        seen[id, default: []].append((message.topic, error))
                        if seen.values.reduce(0, { $0 + $1.count }) == 2 * sent.count { break }
                    }
                    return seen.mapValues { $0.map { ($0.0, $0.1.code) } }
                }
                for request in sent {
                    let got = answers[request.id] ?? []
                    #expect(Set(got.map(\.0)) == [topics.errors(request.task), replyTopic], "\(request.id): \(got)")
                    #expect(got.allSatisfy { $0.1 == request.code }, "\(request.id): \(got)")
                }

                // A plan whose only device never answers: deadline-exceeded through the client.
                let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["ghost"])
                try await watcher.publish(MQTTMessage(topic: topics.plan, payload: try plan.jsonBytes(), retain: true))
                let client = S2M3Client(connection: harness.connection("client"), topics: topics, deadlineGrace: .seconds(10))
                try await client.connect()
                let started = ContinuousClock.now
                do {
                    _ = try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .milliseconds(800))
                    Issue.record("a request nobody serves returned a result")
                } catch let error as S2M3ClientError {
                    #expect(error.code == .taskFailed)
                    #expect(error.taskError?.code == .deadlineExceeded, "\(error)")
                }
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(750) && waited < .seconds(6), "\(waited)")
                #expect(await service.planEpoch == 1)
                #expect(await service.statistics.errors == sent.count + 1)
                await client.close()
                await watcher.disconnect()
            }
        }
    }

    static let placement: [String: [String]] = [
        "image-preprocess": ["box-a"], "effnet-lite0-trunk": ["box-a"], "imagenet-head": ["box-a"],
        "wordpiece-tokenize": ["box-b"], "minilm-l6": ["box-b"], "label-bridge": ["box-b"],
    ]

    static func matchInputs() -> [String: TaskInput] {
        ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg), "texts": .texts(["a cat", "a dog"])]
    }

    /// With devices answering over the bus, the two branches of match-image-text run at the same
    /// time (overlapping timeline spans); with `sequential` they do not.
    @Test func routesBranchesInParallelOverTheBroker() async throws {
        try await BrokerHarness.withBroker { harness in
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(60))
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in ready { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 2, Self.placement, rest: ["box-c"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))

            for sequential in [false, true] {
                let service = try harness.aggregator(id: sequential ? "agg-seq" : "agg-par") { $0.sequential = sequential }
                let result = try await withService(service) {
                    let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
                    try await client.connect()
                    // Wait for the retained plan to reach the service.
                    try await within(.seconds(5), "the plan") { while await service.planEpoch != 2 { try await Task.sleep(for: .milliseconds(10)) } }
                    let result = try await client.request(task: "match-image-text", inputs: Self.matchInputs(), timeout: .seconds(5))
                    await client.close()
                    return result
                }
                try result.validate()
                #expect(result.epoch == 2)
                #expect(result.timeline.count == 6)
                #expect(result.outputs["scores"] != nil)
                let pixels = try #require(result.timeline.first { $0.node == "pixels" })
                let tokens = try #require(result.timeline.first { $0.node == "tokens" })
                #expect(pixels.device == "box-a")
                #expect(tokens.device == "box-b")
                let overlap = pixels.startMs < tokens.endMs && tokens.startMs < pixels.endMs
                #expect(overlap == !sequential, "sequential \(sequential): pixels \(pixels.startMs)–\(pixels.endMs), tokens \(tokens.startMs)–\(tokens.endMs)")
                print("match-image-text over scripted devices (60 ms each), sequential \(sequential): total \(result.totalMs) ms")
            }
            await setup.disconnect()
        }
    }

    /// Many requests at once over two replicas of every module: each gets exactly one result, the
    /// load is spread over both replicas, and nothing stays outstanding.
    @Test func manyConcurrentRequestsEachGetOneResult() async throws {
        try await BrokerHarness.withBroker { harness in
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(3))
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in ready { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a", "box-b"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))
            let service = try harness.aggregator()
            try await withService(service) {
                try await within(.seconds(5), "the plan") { while await service.planEpoch != 1 { try await Task.sleep(for: .milliseconds(10)) } }
                let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
                try await client.connect()
                let count = 40
                let results = try await withThrowingTaskGroup(of: TaskResult.self) { group in
                    for index in 0..<count {
                        group.addTask {
                            try await client.request(task: "match-image-text", inputs: Self.matchInputs(), timeout: .seconds(20), requestID: "many-\(index)")
                        }
                    }
                    var all: [TaskResult] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                #expect(Set(results.map(\.requestID)).count == count)
                #expect(results.allSatisfy { $0.timeline.count == 6 })
                let devicesUsed = Dictionary(grouping: results.flatMap(\.timeline), by: \.device).mapValues(\.count)
                #expect(Set(devicesUsed.keys) == ["box-a", "box-b"], "\(devicesUsed)")
                #expect(devicesUsed.values.allSatisfy { $0 >= count }, "\(devicesUsed)")
                #expect(await service.activeRequests == 0)
                #expect(await service.outstandingInvocations == 0)
                #expect(await service.statistics.results == count)
                await client.close()
            }
            await setup.disconnect()
        }
    }

    /// A device that takes an invocation and then dies (its last will, timestamped before its
    /// `online`): the branch is retried (attempt 2) on the other replica and the request completes
    /// long before the invocation timeout.
    @Test func retriesOnAnotherReplicaWhenADeviceGoesOffline() async throws {
        try await BrokerHarness.withBroker { harness in
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(5), silent: ["box-a"])
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in ready { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 1, ["image-preprocess": ["box-a", "box-c"]], rest: ["box-c"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))
            // box-a announced itself like a device agent: online, with a will registered earlier.
            let registeredAt = Int(Date().timeIntervalSince1970 * 1000) - 1_000
            let online = DeviceState(device: "box-a", status: .online, session: "s1", timestampMs: registeredAt + 500)
            try await setup.publish(MQTTMessage(topic: harness.topics.deviceState("box-a"), payload: try online.jsonBytes(), retain: true))
            let service = try harness.aggregator { $0.invocationTimeoutFloorMs = 20_000 }
            try await withService(service) {
                let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
                try await client.connect()
                try await within(.seconds(5), "the plan") { while await service.planEpoch != 1 { try await Task.sleep(for: .milliseconds(10)) } }
                let request = Task {
                    try await client.request(
                        task: "classify-image", inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)],
                        timeout: .seconds(10))
                }
                try await Task.sleep(for: .milliseconds(300))
                let offline = DeviceState.lastWill(device: "box-a", session: "s1", timestampMs: registeredAt)
                try await setup.publish(MQTTMessage(topic: harness.topics.deviceState("box-a"), payload: try offline.jsonBytes(), retain: true))
                let result = try await within(.seconds(5), "the retried result") { try await request.value }
                let pixels = try #require(result.timeline.first { $0.node == "pixels" })
                #expect(pixels.device == "box-c")
                #expect(pixels.attempt == 2)
                #expect(result.outputs["top"] != nil)
                await client.close()
            }
            await setup.disconnect()
        }
    }

    /// An external client (mosquitto_pub / mosquitto_sub, not the project's code) sends a bare JPEG
    /// with a response topic and correlation data, as topics.md shows, and reads the result.
    @Test func externalClientGetsAResultOnItsResponseTopic() async throws {
        try await BrokerHarness.withBroker { harness in
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(5))
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in ready { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))
            let service = try harness.aggregator()
            try await withService(service) {
                try await within(.seconds(5), "the plan") { while await service.planEpoch != 1 { try await Task.sleep(for: .milliseconds(10)) } }
                let image = FileManager.default.temporaryDirectory.appendingPathComponent("agg-ext-\(getpid()).jpg").path
                try #require(FileManager.default.createFile(atPath: image, contents: Data(AggregatorFixture.jpeg)))
                defer { try? FileManager.default.removeItem(atPath: image) }
                let host = harness.endpoint.host, port = String(harness.endpoint.port)
                let subscriber = try ChildProcess.spawn("/usr/bin/mosquitto_sub", [
                    "-V", "mqttv5", "-h", host, "-p", port, "-t", "ext/me/replies", "-C", "1", "-W", "20",
                    "-F", "%C|%p",
                ], stdout: .pipe)
                defer { if !subscriber.hasExited { subscriber.send(SIGKILL) } }
                let lines = subscriber.outputLines()
                // mosquitto_sub has no ready signal: publish until the answer arrives.
                let publisher = Task {
                    while !Task.isCancelled {
                        let pub = try ChildProcess.spawn("/usr/bin/mosquitto_pub", [
                            "-V", "mqttv5", "-h", host, "-p", port, "-q", "1", "-t", harness.topics.requests("classify-image"), "-f", image,
                            "-D", "publish", "content-type", "image/jpeg", "-D", "publish", "response-topic", "ext/me/replies",
                            "-D", "publish", "correlation-data", "ext-\(UInt32.random(in: 0...UInt32.max))",
                            "-D", "publish", "message-expiry-interval", "10",
                        ], stdout: .null)
                        _ = await pub.waitUntilExit()
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }
                defer { publisher.cancel() }
                let line = try await within(.seconds(20), "mosquitto_sub to print the answer") {
                    for await line in lines { return line }
                    return ""
                }
                let parts = line.split(separator: "|", maxSplits: 1).map(String.init)
                try #require(parts.count == 2, "\(line)")
                #expect(parts[0] == MediaType.json)
                let result = try TaskResult(json: Array(parts[1].utf8))
                #expect(result.requestID.hasPrefix("ext-"))
                #expect(result.task == "classify-image")
                #expect(result.timeline.count == 4)
            }
            await setup.disconnect()
        }
    }

    /// Draining: the request in flight is still answered, later requests are no longer taken.
    @Test func drainFinishesRequestsInFlightAndTakesNoMore() async throws {
        try await BrokerHarness.withBroker { harness in
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(150))
            let (ready, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in ready { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))
            let service = try harness.aggregator()
            let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
            try await client.connect()
            let (serviceReady, serviceSignal) = AsyncStream.makeStream(of: Void.self)
            let serving = Task { try await service.run { serviceSignal.yield() } }
            defer { serving.cancel() }
            for await _ in serviceReady { break }
            try await within(.seconds(5), "the plan") { while await service.planEpoch != 1 { try await Task.sleep(for: .milliseconds(10)) } }
            let image: [String: TaskInput] = ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)]
            let inFlight = Task { try await client.request(task: "classify-image", inputs: image, timeout: .seconds(5)) }
            try await within(.seconds(5), "the request to arrive") { while await service.activeRequests == 0 { try await Task.sleep(for: .milliseconds(5)) } }
            await service.drain(timeout: .seconds(5))
            #expect(await service.activeRequests == 0)
            let result = try await inFlight.value
            #expect(result.timeline.count == 4)
            do {
                _ = try await client.request(task: "classify-image", inputs: image, timeout: .milliseconds(300))
                Issue.record("a drained aggregator still took a request")
            } catch let error as S2M3ClientError {
                #expect(error.code == .timeout, "\(error)")
            }
            #expect(await service.statistics.requests == 1)
            await client.close()
            await setup.disconnect()
        }
    }

    /// `s2m3 aggregator` as a child process: prints ready, answers an unknown task with an error,
    /// and serves `s2m3 request` (another child), which prints the result and its timeline.
    @Test func commandRunsAsAChildProcess() async throws {
        let executable = try Self.s2m3Executable
        try await BrokerHarness.withBroker { harness in
            let child = try ChildProcess.spawn(executable, [
                "aggregator", "--id", "agg-child", "--broker", harness.endpoint.description, "--root", harness.topics.root,
                "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path, "--log-level", "error",
            ], stdout: .pipe)
            defer { if !child.hasExited { child.send(SIGKILL) } }
            let lines = child.outputLines()
            let ready = try await within(.seconds(30), "the aggregator to start") {
                for await line in lines where line == "ready" { return true }
                return false
            }
            try #require(ready, "s2m3 aggregator exited before it was ready")
            let client = S2M3Client(connection: harness.connection("client"), topics: harness.topics)
            try await client.connect()
            do {
                _ = try await client.request(task: "no-such-task", inputs: ["text": .text("hello")], timeout: .seconds(5))
                Issue.record("an unknown task returned a result")
            } catch let error as S2M3ClientError {
                #expect(error.taskError?.code == .unknownTask, "\(error)")
                #expect(error.taskError?.reason.contains("classify-image") == true)
            }
            await client.close()

            // `s2m3 request` through the child aggregator, with scripted devices and a plan.
            let devices = ScriptedDevices(harness: harness, delay: .milliseconds(5))
            let (devicesReady, signal) = AsyncStream.makeStream(of: Void.self)
            let devicesTask = Task { try await devices.run { signal.yield() } }
            defer { devicesTask.cancel() }
            for await _ in devicesReady { break }
            let setup = harness.connection("setup")
            try await setup.connect()
            let plan = AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a"])
            try await setup.publish(MQTTMessage(topic: harness.topics.plan, payload: try plan.jsonBytes(), retain: true))
            let image = FileManager.default.temporaryDirectory.appendingPathComponent("agg-test-\(getpid()).jpg").path
            try #require(FileManager.default.createFile(atPath: image, contents: Data(AggregatorFixture.jpeg)))
            defer { try? FileManager.default.removeItem(atPath: image) }
            let request = try ChildProcess.spawn(executable, [
                "request", "classify-image", "--image", image, "--broker", harness.endpoint.description, "--root", harness.topics.root,
                "--catalog", TestPaths.repository.appendingPathComponent("catalog/default.json").path, "--timeout-ms", "5000",
            ], stdout: .pipe)
            let printed = try await within(.seconds(30), "s2m3 request to print") {
                var lines: [String] = []
                for await line in request.outputLines() { lines.append(line) }
                return lines
            }
            print(printed.joined(separator: "\n"))
            #expect(await request.waitUntilExit() == 0)
            #expect(printed.contains { $0.hasPrefix("timeline") }, "\(printed)")
            #expect(printed.contains { $0.contains("pixels") && $0.contains("box-a") && $0.contains("image-preprocess") }, "\(printed)")
            #expect(printed.contains { $0.hasPrefix("total ") && $0.contains("aggregator agg-child") }, "\(printed)")
            await setup.disconnect()
            child.send(SIGTERM)
            #expect(await child.waitUntilExit() == 0, "SIGTERM ends the aggregator cleanly")
        }
    }

    static var s2m3Executable: String {
        get throws {
            if let given = ProcessInfo.processInfo.environment["S2M3_EXECUTABLE"] { return given }
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("s2m3").path
            try #require(FileManager.default.isExecutableFile(atPath: candidate), "no s2m3 at \(candidate); run `swift build` first")
            return candidate
        }
    }
}
