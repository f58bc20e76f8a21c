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
    static func monolithic(_ requests: [(task: String, inputs: [String: TaskInput])]) async throws -> [String: TaskResult] {
        let models = TestPaths.cache.appendingPathComponent("models").path
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

    /// Whether two timeline entries' spans (sent → answered, at the aggregator) overlap.
    static func overlap(_ a: TaskTimelineEntry, _ b: TaskTimelineEntry) -> Bool {
        max(a.startMs, b.startMs) < min(a.endMs, b.endMs)
    }

    @Test("every task answers like the one-process runner; parallel branches overlap on different devices")
    func distributedEqualsMonolithic() async throws {
        let requests = try Self.requests()
        let expected = try await Self.monolithic(requests)
        let cluster = try await LocalCluster(["--devices", "3"])
        do {
            let client = try await cluster.client()
            for (task, inputs) in requests {
                let result = try await client.request(task: task, inputs: inputs, timeout: .seconds(60))
                #expect(result.task == task)
                Self.expectSame(result, try #require(expected[task]))
                #expect(result.timeline.count >= result.outputs.count)
                for entry in result.timeline { #expect(entry.endMs >= entry.startMs && entry.device.hasPrefix("box-")) }
                // Branches: image vs text, image vs audio.
                let branches: (String, String)? = switch task {
                case "match-image-text": ("trunk", "embeddings")
                case "describe-scene": ("trunk", "encoder")
                default: nil
                }
                if let (left, right) = branches {
                    let a = try #require(result.timeline.first { $0.node == left })
                    let b = try #require(result.timeline.first { $0.node == right })
                    #expect(Self.overlap(a, b), "\(task): \(left) \(a.startMs)–\(a.endMs) and \(right) \(b.startMs)–\(b.endMs) should overlap")
                    #expect(a.device != b.device, "\(task): \(left) and \(right) both ran on \(a.device)")
                }
            }
            await client.close()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
