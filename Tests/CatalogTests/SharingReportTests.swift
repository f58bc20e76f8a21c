import Catalog
import Foundation
import TestSupport
import Testing

@Suite("Sharing report")
struct SharingReportTests {
    @Test("memory with and without sharing, per task and for all tasks")
    func figures() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("enc.onnx", "encoder")
        try fixture.write("enc-copy.onnx", "encoder")
        try fixture.write("head.onnx", "head")
        try fixture.write("other.onnx", "other")
        let document = CatalogDocument(
            modules: [
                CatalogFixture.onnx("enc", file: "enc.onnx"), CatalogFixture.onnx("enc-copy", file: "enc-copy.onnx"),
                CatalogFixture.onnx("head", file: "head.onnx", arguments: 2), CatalogFixture.onnx("other", file: "other.onnx"),
            ],
            tasks: [
                // Two branches through the same encoder: shared inside the task.
                CatalogFixture.task("pair", [("e1", "enc", ["a"]), ("e2", "enc", ["b"]), ("h", "head", ["e1", "e2"])], inputs: ["a", "b"]),
                // A second task using an identical copy of the encoder under another id.
                CatalogFixture.task("single", [("e", "enc-copy", ["in"]), ("o", "other", ["e"])]),
            ])
        let catalog = try ModuleCatalog(document: document, modelsDirectory: fixture.directory)
        let report = SharingReport(catalog: catalog, memory: ["enc": 100, "head": 10, "other": 40])
        let pair = try #require(report.tasks.first { $0.task == "pair" })
        #expect(pair.unsharedBytes == 210)
        #expect(pair.sharedBytes == 110)
        #expect(abs(pair.savingPercent - 100.0 * 100 / 210) < 1e-9)
        #expect(pair.invocations["enc"] == 2)
        #expect(pair.sharedWith["enc"] == ["single"])
        #expect(pair.sharedWith["head"] == nil)
        let single = try #require(report.tasks.first { $0.task == "single" })
        #expect(single.unsharedBytes == 140)
        #expect(single.sharedBytes == 140)
        #expect(single.savingPercent == 0)
        #expect(single.sharedWith["enc"] == ["pair"])
        #expect(report.unsharedBytes == 350)
        #expect(report.sharedBytes == 150)
        #expect(abs(report.savingPercent - 200.0 / 350 * 100) < 1e-9)
    }

    @Test("the committed default catalog loads and its tasks share modules")
    func defaultCatalogStructure() throws {
        let root = TestPaths.repository
        let data = try Data(contentsOf: root.appendingPathComponent("catalog/default.json"))
        var document = try JSONDecoder().decode(CatalogDocument.self, from: data)
        document.modules = document.modules.map { var module = $0; module.sha256 = nil; return module }
        #expect(Set(document.tasks.map(\.id)).isSuperset(of: [
            "classify-image", "match-image-text", "transcribe", "voice-command", "read-text", "describe-scene",
        ]))
        // Pure structure check: no weights needed, each file's "digest" is derived from its path.
        let catalog = try ModuleCatalog(
            document: document, modelsDirectory: "/nonexistent", fileSHA256: { SHA256.hex(of: $0) })
        let report = SharingReport(catalog: catalog, memory: Dictionary(uniqueKeysWithValues: catalog.modules.map { ($0.id, 1) }))
        let scene = try #require(report.tasks.first { $0.task == "describe-scene" })
        #expect(scene.sharedWith["whisper-tiny-encoder"]?.contains("transcribe") == true)
        #expect(scene.sharedWith["effnet-lite0-trunk"]?.contains("classify-image") == true)
        #expect(report.sharedBytes < report.unsharedBytes)
    }
}
