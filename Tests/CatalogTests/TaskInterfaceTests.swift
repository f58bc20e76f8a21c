import Catalog
import Foundation
import S2M3Core
import TestSupport
import Testing

/// Task interfaces read from the catalog, and topics.md's table of them kept in step.
@Suite("Task interfaces")
struct TaskInterfaceTests {
    static func defaultCatalog() throws -> ModuleCatalog {
        try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path,
            modelsDirectory: TestPaths.cache.appendingPathComponent("models").path)
    }

    @Test("inputs: media types, texts, defaults; outputs: the result keys and kinds real results have")
    func defaultTasks() throws {
        let interfaces = Dictionary(uniqueKeysWithValues: TaskInterface.all(in: try Self.defaultCatalog()).map { ($0.task, $0) })
        let match = try #require(interfaces["match-image-text"])
        #expect(match.inputs.map(\.name) == ["image", "texts"])
        #expect(match.inputs.map(\.form) == ["media", "text"])
        #expect(match.inputs[0].type == "image/jpeg, image/png")
        #expect(match.outputs.map(\.name) == ["scores"])
        #expect(match.outputs.map(\.kind) == ["labels"])
        let voice = try #require(interfaces["voice-command"])
        #expect(voice.inputs.map(\.required) == [true, false])
        #expect(voice.inputs[0].type == "audio/wav")
        if case .texts(let commands)? = voice.inputs[1].defaultValue { #expect(commands.count == 5) } else { Issue.record("no default commands") }
        #expect(voice.outputs.map(\.kind) == ["text", "labels"])
        #expect(interfaces["read-text"]?.outputs.map(\.kind) == ["texts"])
    }

    @Test("topics.md's task table is what the catalog generates")
    func topicsTableInStep() throws {
        let path = TestPaths.repository.appendingPathComponent("topics.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let begin = "<!-- task-interfaces:begin -->\n", end = "<!-- task-interfaces:end -->"
        let start = try #require(text.range(of: begin)), stop = try #require(text.range(of: end))
        let committed = String(text[start.upperBound..<stop.lowerBound])
        let generated = TaskInterface.markdownTable(TaskInterface.all(in: try Self.defaultCatalog()))
        #expect(committed == generated, "topics.md is out of step: paste `s2m3 catalog --tasks` between the markers:\n\(generated)")
    }
}

/// topics.md's JSON examples against the catalog: request examples name a task's inputs, result
/// examples its real outputs and nodes, invoke examples a real node, module and its input names.
@Suite("topics.md examples match the catalog")
struct TopicsExamplesTests {
    static func jsonBlocks() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: TestPaths.repository.appendingPathComponent("topics.md").path, encoding: .utf8)
        return text.components(separatedBy: "```json\n").dropFirst().compactMap { block in
            let body = block.components(separatedBy: "\n```").first ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    @Test("request, result and invoke examples use real inputs, outputs, nodes and tensor names")
    func examplesMatch() throws {
        let catalog = try TaskInterfaceTests.defaultCatalog()
        let interfaces = Dictionary(uniqueKeysWithValues: TaskInterface.all(in: catalog).map { ($0.task, $0) })
        var checked = (requests: 0, results: 0, invokes: 0)
        for block in try Self.jsonBlocks() {
            let metadata = block["__metadata__"] as? [String: String] ?? [:]
            let schema = block["schema"] as? String ?? metadata["s2m3.schema"]
            switch schema {
            case "s2m3.task-request/1":
                let names = Set(((block["inputs"] as? [String: Any]) ?? block.filter { $0.key != "__metadata__" }).keys)
                let fits = interfaces.values.contains { interface in
                    names.isSubset(of: interface.inputs.map(\.name)) && interface.inputs.allSatisfy { !$0.required || names.contains($0.name) }
                }
                #expect(fits, "no task takes exactly the inputs \(names.sorted()) of a request example")
                checked.requests += 1
            case "s2m3.task-result/1":
                let task = try #require(block["task"] as? String)
                let interface = try #require(interfaces[task], "result example of unknown task \(task)")
                let outputs = Set((block["outputs"] as? [String: Any] ?? [:]).keys)
                #expect(outputs == Set(interface.outputs.map(\.name)), "result example outputs \(outputs.sorted()) for \(task)")
                let nodes = try #require(catalog.tasks.first { $0.id == task }).graph.nodes
                for entry in block["timeline"] as? [[String: Any]] ?? [] {
                    let node = entry["node"] as? String, module = entry["module"] as? String
                    #expect(nodes.contains { $0.id == node && $0.module == module }, "timeline entry \(node ?? "?") / \(module ?? "?") of \(task)")
                }
                checked.results += 1
            case "s2m3.invoke/1":
                let task = try #require(catalog.tasks.first { $0.id == metadata["s2m3.task"] })
                let node = task.graph.nodes.first { $0.id == metadata["s2m3.node"] }
                #expect(node?.module == metadata["s2m3.module"], "invoke example node \(metadata["s2m3.node"] ?? "?")")
                let module = try #require(catalog.module(metadata["s2m3.module"] ?? ""))
                #expect(Set(block.keys.filter { $0 != "__metadata__" }) == Set(module.callInputs.map(\.name)), "invoke example tensors")
                checked.invokes += 1
            default:
                continue
            }
        }
        #expect(checked.requests >= 2 && checked.results >= 1 && checked.invokes >= 1, "\(checked)")
    }
}
