import Catalog
import Foundation
import LocalBroker
import S2M3Core
import TestSupport
import Testing

/// Issue 15 item 6: every request example in topics.md is sent to a live cluster as written and
/// must be answered with a result; every result example's outputs (names and kinds) must match a
/// real result of its task. The examples are read from topics.md's fenced blocks, so an edited
/// example is tested as edited, and a block of a kind this test does not know fails it.
@Suite("topics.md examples on a live cluster", .serialized)
struct TopicsExamplesClusterTests {
    /// Schemas of JSON examples that are neither requests to `requests/{task}` nor results
    /// (state, telemetry, plan, invocations, partials, errors, stream orders and telemetry).
    static let otherSchemas: Set<String> = [
        "s2m3.device-state/1", "s2m3.device-capabilities/1", "s2m3.device-telemetry/1", "s2m3.device-assignment/1",
        "s2m3.service-state/1", "s2m3.planner-telemetry/1", "s2m3.aggregator-telemetry/1", "s2m3.plan/1",
        "s2m3.invoke/1", "s2m3.partial/1", "s2m3.task-error/1", "s2m3.stream-subscription/1", "s2m3.stream-telemetry/1",
    ]

    @Test("every request example is answered with a result; result examples have the real outputs")
    func examplesOnCluster() async throws {
        let catalog = try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path,
            modelsDirectory: TestPaths.cache.appendingPathComponent("models").path)
        let interfaces = TaskInterface.all(in: catalog)
        let blocks = try TopicsExampleBlock.all()
        let directory = NSTemporaryDirectory() + "s2m3-topics-examples-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let photo = TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg").path
        let cluster = try await UpCluster(["--devices", "2", "--device-memory", "600MB"])
        var answers: [(example: String, answer: [String: Any])] = []
        var resultExamples: [(line: Int, task: String, outputs: [String: Any])] = []
        do {
            for block in blocks {
                let name = "topics.md:\(block.line) (\(block.language.isEmpty ? "plain" : block.language))"
                switch block.language {
                case "json":
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(block.body.utf8)) as? [String: Any], "\(name)")
                    let metadata = object["__metadata__"] as? [String: String]
                    let schema = (object["schema"] as? String) ?? metadata?["s2m3.schema"] ?? "?"
                    if schema == "s2m3.task-request/1", metadata != nil {
                        // The bundle header is a layout description (its data section is left out, and
                        // topics.md says so); the Python example below it builds and sends the full bundle.
                        continue
                    } else if schema == "s2m3.task-request/1" {
                        let names = Set((object["inputs"] as? [String: Any] ?? [:]).keys)
                        let task = try #require(Self.task(taking: names, in: interfaces), "\(name): no task takes the inputs \(names.sorted())")
                        let answer = try await ExternalClient.request(
                            cluster.endpoint, task: task, payload: Array(block.body.utf8), contentType: "application/json",
                            id: object["requestId"] as? String ?? "req", client: "topics-json")
                        answers.append((name, answer))
                    } else if schema == "s2m3.task-result/1" {
                        resultExamples.append((block.line, try #require(object["task"] as? String), object["outputs"] as? [String: Any] ?? [:]))
                    } else {
                        #expect(Self.otherSchemas.contains(schema), "\(name): unrecognised example schema \(schema)")
                    }
                case "sh" where block.body.contains("mosquitto_pub"):
                    if !FileManager.default.fileExists(atPath: directory + "/cat.jpg") {
                        try FileManager.default.copyItem(atPath: photo, toPath: directory + "/cat.jpg")
                    }
                    let script = block.body.replacingOccurrences(
                        of: "-h 127.0.0.1 -p 1883", with: "-h \(cluster.endpoint.host) -p \(cluster.endpoint.port)")
                    #expect(script != block.body, "\(name): the example names no broker at 127.0.0.1:1883")
                    answers.append((name, try await Self.runShell(script, in: directory, example: name)))
                case "python" where block.body.contains("paho.mqtt"):
                    if !FileManager.default.fileExists(atPath: directory + "/cat.jpg") {
                        try FileManager.default.copyItem(atPath: photo, toPath: directory + "/cat.jpg")
                    }
                    let script = block.body.replacingOccurrences(
                        of: #"connect("127.0.0.1", 1883)"#, with: #"connect("\#(cluster.endpoint.host)", \#(cluster.endpoint.port))"#)
                    #expect(script != block.body, "\(name): the example connects to no broker at 127.0.0.1:1883")
                    answers.append((name, try await Self.runPython(script, suffix: Self.pahoSuffix, in: directory, example: name)))
                case "python" where block.body.contains("safetensors.numpy"):
                    // Sent to the task that takes the inputs the code puts in the bundle.
                    if !FileManager.default.fileExists(atPath: directory + "/cat.jpg") {
                        try FileManager.default.copyItem(atPath: photo, toPath: directory + "/cat.jpg")
                    }
                    let inputs = Set(block.captures(#""(\w+)": np\.frombuffer"#))
                    let task = try #require(Self.task(taking: inputs, in: interfaces), "\(name): no task takes the inputs \(inputs.sorted())")
                    let suffix = Self.bundleSuffix(topic: Topics().requests(task), endpoint: cluster.endpoint, client: "topics-python-bundle")
                    answers.append((name, try await Self.runPython(block.body, suffix: suffix, in: directory, example: name)))
                case "" where block.body.hasPrefix("[8 bytes: header length N"):
                    continue  // the bundle layout diagram, not a message
                default:
                    Issue.record("\(name): an example block this test does not recognise:\n\(block.body.prefix(200))")
                }
            }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()

        var outputsByTask: [String: [String: Any]] = [:]
        for (example, answer) in answers {
            #expect(answer["schema"] as? String == "s2m3.task-result/1", "\(example) was answered with \(answer)")
            if let task = answer["task"] as? String, let outputs = answer["outputs"] as? [String: Any] { outputsByTask[task] = outputs }
        }
        #expect(answers.count >= 5, "request examples sent: \(answers.map(\.example))")
        #expect(resultExamples.count >= 2, "result examples found: \(resultExamples.map(\.line))")
        for example in resultExamples {
            let real = try #require(outputsByTask[example.task], "topics.md:\(example.line): no request example of \(example.task) to compare with")
            #expect(Set(example.outputs.keys) == Set(real.keys), "topics.md:\(example.line) outputs \(example.outputs.keys.sorted()) vs real \(real.keys.sorted())")
            for (key, value) in example.outputs {
                let kind = (value as? [String: Any])?["kind"] as? String
                #expect(kind == (real[key] as? [String: Any])?["kind"] as? String, "topics.md:\(example.line) output \(key) kind \(kind ?? "?")")
            }
        }
    }
}
