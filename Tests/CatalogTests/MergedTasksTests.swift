import Catalog
import Foundation
import S2M3Core
import TestSupport
import Testing

/// ``MergedTasks`` on the committed catalog's tasks (pure: declarations only, no weights read).
@Suite("MergedTasks: several tasks on one frame as one graph")
struct MergedTasksTests {
    static func catalog() throws -> ModuleCatalog {
        let path = TestPaths.repository.appendingPathComponent("catalog/default.json").path
        var document = try JSONDecoder().decode(CatalogDocument.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        for index in document.modules.indices { document.modules[index].sha256 = nil }
        return try ModuleCatalog(document: document, modelsDirectory: "/", fileSHA256: { _ in String(repeating: "0", count: 64) })
    }

    static func merge(_ ids: [String]) throws -> (MergedTasks, ModuleCatalog) {
        let catalog = try catalog()
        let tasks = try ids.map { id in try #require(catalog.tasks.first { $0.id == id }) }
        return (try MergedTasks(tasks: tasks, shared: ["image"], catalog: catalog), catalog)
    }

    /// Three image tasks: the image branch (preprocess → trunk → head → top-k) appears once.
    @Test func sharedNodesAppearOnce() throws {
        let (merged, _) = try Self.merge(["classify-image", "match-image-text", "describe-scene"])
        let modules = merged.binding.nodes.map(\.module)
        for module in ["image-preprocess", "effnet-lite0-trunk", "imagenet-head", "top-k"] {
            #expect(modules.filter { $0 == module }.count == 1, "\(module) should run once, got \(modules)")
        }
        // 4 (classify) + 3 text nodes of match + 7 audio/summary nodes of describe-scene.
        #expect(merged.binding.nodes.count == 4 + 3 + 7)
        #expect(merged.users["trunk"] == ["classify-image", "match-image-text", "describe-scene"])
        #expect(merged.users["top"] == ["classify-image", "describe-scene"])
        #expect(merged.binding.task.graph.inputs.map(\.id) == ["image", "match-image-text.texts", "describe-scene.audio"])
        let describe = try #require(merged.member("describe-scene"))
        #expect(describe.ids["top"] == "top")
        #expect(describe.outputs == ["top", "transcript", "summary"])
        #expect(merged.binding.task.outputNodes == ["top", "scores", "transcript", "summary"])
    }

    /// Inputs that are a task's own are never shared: two tasks reading their own texts keep two
    /// tokenizers, and the graph stays valid.
    @Test func privateInputsAreNotShared() throws {
        let (merged, _) = try Self.merge(["match-image-text", "voice-command"])
        let tokenizers = merged.binding.nodes.filter { $0.module == "wordpiece-tokenize" }
        #expect(tokenizers.count == 3, "texts, transcript and commands each tokenized: \(tokenizers.map(\.inputs))")
        #expect(merged.users.values.allSatisfy { $0.count == 1 }, "nothing shared between an image task and an audio task")
        try merged.binding.task.graph.validate()
    }

    /// A member's timeline is its own nodes under its own ids, each naming the tasks it served too.
    @Test func memberTimelineNamesSharing() throws {
        let (merged, _) = try Self.merge(["classify-image", "match-image-text"])
        let entries = merged.binding.nodes.enumerated().map { index, node in
            TaskTimelineEntry(node: node.id, module: node.module, device: "box", queuedMs: 0, computeMs: 1, transferMs: 0,
                              startMs: Double(index), endMs: Double(index + 1))
        }
        let classify = try #require(merged.member("classify-image"))
        let timeline = merged.timeline(of: classify, entries: entries)
        #expect(timeline.map(\.node) == ["pixels", "trunk", "logits", "top"])
        #expect(timeline.map(\.sharedWith) == [["match-image-text"], ["match-image-text"], ["match-image-text"], nil])
        #expect(merged.isReady(classify, finished: ["top"]))
        #expect(!merged.isReady(classify, finished: ["trunk"]))
    }

    /// The same task twice is refused.
    @Test func refusesRepeatedTask() throws {
        #expect(throws: CatalogError.self) { _ = try Self.merge(["classify-image", "classify-image"]) }
    }
}
