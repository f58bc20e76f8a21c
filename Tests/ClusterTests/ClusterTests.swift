import Catalog
import Foundation
import Inference
import LocalBroker
import MQTTBus
import Runtime
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// The whole system, end to end, as a user runs it: `s2m3 up` (real broker, planner, aggregator and
/// device agents as processes, real models) answering real inputs.
@Suite("Local cluster end to end", .serialized)
struct ClusterTests {
    /// One request per task on real fixtures.
    static func requests() throws -> [(task: String, inputs: [String: TaskInput])] {
        [
            ("classify-image", ["image": try image("chelsea.jpg")]),
            ("match-image-text", [
                "image": try image("coffee.jpg"),
                "texts": .texts(["a cat", "a cup of espresso", "a cameraman", "a scooter", "a rocket on its launch pad"]),
            ]),
            ("transcribe", ["audio": try audio("sentence-inspection.wav")]),
            ("voice-command", ["audio": try audio("cmd-open-gate.wav")]),
            ("read-text", ["image": try image("ocr-inspection.png")]),
            ("describe-scene", ["image": try image("chelsea.jpg"), "audio": try audio("cmd-stop-line.wav")]),
        ]
    }

    static func file(_ name: String) throws -> [UInt8] {
        let path = TestPaths.cache.appendingPathComponent("fixtures/\(name)").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClusterTestError("missing fixture \(path): run scripts/setup.sh")
        }
        return [UInt8](data)
    }

    static func image(_ name: String) throws -> TaskInput {
        let bytes = try file(name)
        return .media(contentType: MediaType.sniff(bytes) ?? MediaType.jpeg, bytes: bytes)
    }

    static func audio(_ name: String) throws -> TaskInput { .media(contentType: MediaType.wav, bytes: try file(name)) }

    /// The one-process runner's results for the same requests.
    static func monolithic(
        _ requests: [(task: String, inputs: [String: TaskInput])],
        models: String = TestPaths.cache.appendingPathComponent("models").path
    ) async throws -> [String: TaskResult] {
        let catalog = try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path, modelsDirectory: models)
        let runner = TaskRunner(modules: LocalModules(loader: ModuleLoader(catalog: catalog, modelsDirectory: models)))
        var results: [String: TaskResult] = [:]
        for (task, inputs) in requests {
            let entry = try #require(catalog.tasks.first { $0.id == task })
            results[task] = try await runner.run(
                TaskBinding(task: entry, catalog: catalog), request: TaskRequest(task: task, inputs: inputs).bundle())
        }
        return results
    }

    /// Same labels in the same order, same texts, numbers within `tolerance`.
    static func expectSame(_ distributed: TaskResult, _ monolithic: TaskResult, tolerance: Double = 1e-4) {
        #expect(Set(distributed.outputs.keys) == Set(monolithic.outputs.keys), "\(distributed.task): output names")
        for (name, expected) in monolithic.outputs {
            let got = distributed.outputs[name]
            switch (got, expected) {
            case let (.labels(a)?, .labels(b)):
                #expect(a.map(\.label) == b.map(\.label), "\(distributed.task).\(name) labels")
                for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) <= tolerance, "\(distributed.task).\(name) \(x.label)") }
            case let (.embedding(a)?, .embedding(b)):
                #expect(a.count == b.count)
                for (x, y) in zip(a, b) { #expect(abs(Double(x - y)) <= tolerance) }
            default:
                #expect(got == expected, "\(distributed.task).\(name)")
            }
        }
    }

    /// From the first invocation sent to the last answer received, over a branch's nodes (ms).
    static func span(_ result: TaskResult, _ nodes: [String]) throws -> ClosedRange<Double> {
        let entries = result.timeline.filter { nodes.contains($0.node) }
        guard let start = entries.map(\.startMs).min(), let end = entries.map(\.endMs).max() else {
            throw ClusterTestError("\(result.task): no timeline entries for \(nodes)")
        }
        return start...end
    }

    @Test("every task answers like the one-process runner; parallel branches overlap on different devices")
    func distributedEqualsMonolithic() async throws {
        let requests = try Self.requests()
        let expected = try await Self.monolithic(requests)
        // Equal announced speeds and no learning from telemetry: the plan comes from the catalog's
        // figures alone, the same on every machine and run. (Learning from a loaded machine's
        // module times once put every task's branches on one device, and on 3 devices the
        // catalog's figures do too; on 4 they do not.)
        let cluster = try await UpCluster(["--devices", "4", "--device-gflops", "100", "--no-learning"])
        do {
            let client = try await cluster.client()
            var separated: [String] = []
            var chained = 0
            for (task, inputs) in requests {
                let result = try await client.request(task: task, inputs: inputs, timeout: .seconds(60))
                #expect(result.task == task)
                Self.expectSame(result, try #require(expected[task]))
                #expect(result.timeline.count >= result.outputs.count)
                for entry in result.timeline { #expect(entry.endMs >= entry.startMs && entry.device.hasPrefix("box-")) }
                // Consecutive nodes on one device ran as one chain there (topics.md, "Chains").
                for entry in result.timeline {
                    guard let before = entry.chainedAfter else { continue }
                    chained += 1
                    #expect(result.timeline.contains { $0.node == before && $0.device == entry.device }, "\(task): \(entry.node) chained after \(before)")
                }
                // Branches: image vs text, image vs audio; the heaviest node of each names the device.
                let branches: ([String], [String])? = switch task {
                case "match-image-text": (["pixels", "trunk", "logits"], ["tokens", "embeddings"])
                case "describe-scene": (["pixels", "trunk", "logits", "top"], ["samples", "vad", "mel", "encoder", "decoder", "transcript"])
                default: nil
                }
                if let (left, right) = branches {
                    // Where a node runs is the plan's choice, and the plan follows the module costs
                    // measured on this machine (a loaded machine can make co-locating them optimal):
                    // each node must run where the plan put its module, and branches placed on
                    // different devices must overlap in time.
                    let plan = try await cluster.plan()
                    let heavy = try #require(result.timeline.first { $0.node == "trunk" })
                    let other = try #require(result.timeline.first { $0.node == (task == "match-image-text" ? "embeddings" : "encoder") })
                    for entry in [heavy, other] {
                        let module = entry.module
                        #expect(plan.placement[module]?.contains(entry.device) == true, "\(task): \(entry.node) ran on \(entry.device), the plan says \(plan.placement[module] ?? [])")
                    }
                    if heavy.device != other.device {
                        let a = try Self.span(result, left), b = try Self.span(result, right)
                        #expect(max(a.lowerBound, b.lowerBound) < min(a.upperBound, b.upperBound), "\(task): branches \(a) and \(b) should overlap")
                        separated.append(task)
                    }
                }
            }
            // At least one task's branches ran apart: the plan from the catalog's figures on 4
            // devices keeps them apart.
            #expect(!separated.isEmpty, "no task had its parallel branches on different devices")
            #expect(chained > 0, "no node ran chained after another on its device")
            await client.close()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

extension ClusterTests {
    @Test("mosquitto_pub/sub complete a request; bad requests get clear errors and the cluster keeps serving")
    func externalClientAndBadRequests() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-memory", "600MB"])
        do {
            let photo = try Self.file("chelsea.jpg")
            let answer = try await ExternalClient.request(
                cluster.endpoint, task: "classify-image", payload: photo, contentType: "image/jpeg", id: "ext-ok")
            #expect(answer["schema"] as? String == "s2m3.task-result/1")
            let top = (answer["outputs"] as? [String: Any])?["top"] as? [String: Any]
            let labels = top?["labels"] as? [[String: Any]]
            #expect(labels?.first?["label"] as? String == "Egyptian cat", "\(answer)")

            // A JPEG's first bytes (start of image, JFIF header), then noise: no frame to decode.
            let corrupt = Array(photo.prefix(20)) + (0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let json = { (text: String) in Array(text.utf8) }
            let bad: [(String, [UInt8], String?, String)] = [
                ("classify-image", [0x00, 0x01, 0x02, 0xFF, 0x13], nil, "malformed-request"),
                ("no-such-task", photo, "image/jpeg", "unknown-task"),
                ("match-image-text", json(#"{"schema":"s2m3.task-request/1","inputs":{"texts":["a cat"]}}"#), "application/json", "missing-input"),
                ("classify-image", corrupt, "image/jpeg", "bad-input"),
                ("classify-image", [UInt8](repeating: 0x41, count: 17 << 20), "text/plain", "payload-too-large"),
                ("transcribe", json("not a wav file"), "audio/wav", "bad-input"),
            ]
            for (index, (task, payload, contentType, code)) in bad.enumerated() {
                let error = try await ExternalClient.request(
                    cluster.endpoint, task: task, payload: payload, contentType: contentType, id: "ext-bad-\(index)")
                #expect(error["schema"] as? String == "s2m3.task-error/1", "\(task) \(code): \(error)")
                #expect(error["code"] as? String == code, "\(task): \(error)")
                #expect(((error["reason"] as? String) ?? "").count > 10, "\(task): the reason says what was wrong")
            }
            // Still serving.
            let client = try await cluster.client()
            let result = try await client.request(task: "classify-image", inputs: ["image": try Self.image("coffee.jpg")], timeout: .seconds(60))
            guard case .labels(let labels)? = result.outputs["top"] else { throw ClusterTestError("no labels: \(result)") }
            #expect(labels.first?.label == "espresso")

            // `s2m3 request`, as a user types it, prints the result and the timeline.
            let photoPath = TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg").path
            let request = try ChildProcess.spawn(
                try TestPaths.s2m3Executable,
                ["request", "classify-image", "--image", photoPath, "--broker", cluster.endpoint.description, "--timeout-ms", "60000"],
                stdout: .pipe, stderr: .null)
            var printed: [String] = []
            for await line in request.outputLines() { printed.append(line) }
            #expect(await request.waitUntilExit() == 0, "\(printed)")
            #expect(printed.contains { $0.contains("Egyptian cat") }, "\(printed)")
            #expect(printed.contains { $0.contains("trunk") && $0.contains("effnet-lite0-trunk") && $0.contains("box-") }, "\(printed)")

            // SIGTERM to the aggregator while a request is in flight: it finishes that one, then leaves.
            let aggregator = try #require(cluster.pids["agg-1"], "up printed the aggregator's pid: \(cluster.pids)")
            let inFlight = Task { try await client.request(task: "transcribe", inputs: ["audio": try Self.audio("sentence-inspection.wav")], timeout: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(300))
            kill(aggregator, SIGTERM)
            let transcript = try await inFlight.value
            guard case .text(let text)? = transcript.outputs["transcript"] else { throw ClusterTestError("no transcript: \(transcript)") }
            #expect(text.lowercased().contains("inspection camera"), "\(text)")
            var exited = false
            for _ in 0..<300 where !exited {
                exited = kill(aggregator, 0) != 0
                if !exited { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(exited, "the aggregator left after draining")
            await client.close()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    @Test("a device killed while requests flow: every request is answered exactly once")
    func deviceKilledWhileRequestsFlow() async throws {
        let cluster = try await UpCluster(["--devices", "3", "--device-memory", "1.3GB", "--no-restart"])
        do {
            let plan = try await cluster.plan()
            let victim = try #require(plan.placement["effnet-lite0-trunk"]?.first, "effnet-lite0-trunk is placed")
            let pid = try #require(cluster.pids[victim], "up printed \(victim)'s pid: \(cluster.pids)")

            // Everything the aggregator publishes, counted by request id.
            let watcher = cluster.connection("cluster-test-watch")
            try await watcher.connect()
            let messages = watcher.messages
            let topics = Topics()
            try await watcher.subscribe(topics.results("+"))
            try await watcher.subscribe(topics.errors("+"))
            let counter = Task {
                var results: [String: Int] = [:], errors: [String: String] = [:]
                for await message in messages {
                    let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
                    guard let id = object?["requestId"] as? String else { continue }
                    if object?["schema"] as? String == TaskResult.schema {
                        results[id, default: 0] += 1
                    } else {
                        errors[id] = "\(object?["code"] ?? "?"): \(object?["reason"] ?? "")"
                    }
                }
                return (results, errors)
            }

            let client = try await cluster.client()
            let image = try Self.image("chelsea.jpg")
            let total = 24
            let answered = LockedCounter(), chainedResults = LockedCounter()
            let killer = Task {
                while answered.value < 6 { try await Task.sleep(for: .milliseconds(20)) }
                kill(pid, SIGKILL)
            }
            let ids = (0..<total).map { "kill-\($0)" }
            let outcomes = await withTaskGroup(of: (String, String?).self) { group in
                for lane in 0..<3 {
                    group.addTask {
                        var failures: [String] = []
                        for index in stride(from: lane, to: total, by: 3) {
                            let task = index % 2 == 0 ? "classify-image" : "match-image-text"
                            let inputs: [String: TaskInput] = task == "classify-image"
                                ? ["image": image] : ["image": image, "texts": .texts(["a cat", "a dog", "a car"])]
                            do {
                                let result = try await client.request(task: task, inputs: inputs, timeout: .seconds(60), requestID: ids[index])
                                if result.timeline.contains(where: { $0.chainedAfter != nil }) { chainedResults.increment() }
                            } catch {
                                failures.append("\(ids[index]): \(error)")
                            }
                            answered.increment()
                        }
                        return ("lane-\(lane)", failures.isEmpty ? nil : failures.joined(separator: "; "))
                    }
                }
                var outcomes: [(String, String?)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            try await killer.value
            for (lane, failure) in outcomes { #expect(failure == nil, "\(lane): \(failure ?? "")") }
            try await Task.sleep(for: .seconds(3))  // a duplicate would arrive by now
            await watcher.disconnect()
            let (results, errors) = await counter.value
            #expect(errors.isEmpty, "errors: \(errors)")
            for id in ids { #expect(results[id] == 1, "\(id) answered \(results[id] ?? 0) times") }
            #expect(results.values.reduce(0, +) == total)
            #expect(chainedResults.value > 0, "requests ran in co-located chains")
            await client.close()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

/// A counter shared by test tasks.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
