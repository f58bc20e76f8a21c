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
