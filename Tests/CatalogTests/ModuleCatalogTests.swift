import Catalog
import Foundation
import Testing

@Suite("Catalog loader")
struct ModuleCatalogTests {
    @Test("equal weights and interface under two ids are one module; different weights are not")
    func sharingByDigest() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("a.onnx", "weights A")
        try fixture.write("a-copy.onnx", "weights A")
        try fixture.write("b.onnx", "weights B")
        let document = CatalogDocument(
            modules: [
                CatalogFixture.onnx("a", file: "a.onnx"), CatalogFixture.onnx("a2", file: "a-copy.onnx"),
                CatalogFixture.onnx("b", file: "b.onnx"),
            ],
            tasks: [CatalogFixture.task("t", [("n1", "a", ["in"]), ("n2", "a2", ["n1"]), ("n3", "b", ["n2"])])])
        let catalog = try ModuleCatalog(document: document, modelsDirectory: fixture.directory)
        #expect(catalog.sharedID["a"] == "a")
        #expect(catalog.sharedID["a2"] == "a")
        #expect(catalog.sharedID["b"] == "b")
        #expect(catalog.module("a")?.digest == catalog.module("a2")?.digest)
        #expect(catalog.module("a")?.digest != catalog.module("b")?.digest)
    }

    @Test("same weights with a different interface are different modules")
    func interfaceIsPartOfDigest() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("a.onnx", "weights A")
        var other = CatalogFixture.onnx("a-wide", file: "a.onnx")
        other.outputs = [TensorDeclaration(name: "x", dtype: "float32", shape: [.symbol("N"), .fixed(8)])]
        let document = CatalogDocument(modules: [CatalogFixture.onnx("a", file: "a.onnx"), other], tasks: [])
        let catalog = try ModuleCatalog(document: document, modelsDirectory: fixture.directory)
        #expect(catalog.sharedID["a-wide"] == "a-wide")
        #expect(catalog.module("a")?.contentSHA256 == catalog.module("a-wide")?.contentSHA256)
    }

    @Test("the weights digest is the file's sha256")
    func fileDigest() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("abc.onnx", "abc")
        let document = CatalogDocument(modules: [CatalogFixture.onnx("m", file: "abc.onnx")], tasks: [])
        let catalog = try ModuleCatalog(document: document, modelsDirectory: fixture.directory)
        #expect(catalog.module("m")?.contentSHA256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(catalog.module("m")?.interface == "in x float32 [N,4]; out x float32 [N,4]")
    }

    private func loadError(_ document: CatalogDocument, files: [String: String] = [:]) throws -> CatalogError? {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        for (name, text) in files { try fixture.write(name, text) }
        do {
            _ = try ModuleCatalog(document: document, modelsDirectory: fixture.directory)
            return nil
        } catch {
            return error
        }
    }

    @Test("a task invoking an undeclared module fails naming the task and the module")
    func unknownModule() throws {
        let document = CatalogDocument(
            modules: [CatalogFixture.onnx("a", file: "a.onnx")],
            tasks: [CatalogFixture.task("t", [("n1", "a", ["in"]), ("n2", "ghost", ["n1"])])])
        let error = try #require(try loadError(document, files: ["a.onnx": "A"]))
        #expect(error.code == .unknownModule)
        #expect(error.entry == "t")
        #expect(error.message.contains("ghost"))
    }

    @Test("a cycle is a typed error naming the task")
    func cycle() throws {
        let document = CatalogDocument(
            modules: [CatalogFixture.onnx("a", file: "a.onnx")],
            tasks: [CatalogFixture.task("loop", [("n1", "a", ["n2"]), ("n2", "a", ["n1"])])])
        let error = try #require(try loadError(document, files: ["a.onnx": "A"]))
        #expect(error.code == .cycle)
        #expect(error.entry == "loop")
    }

    @Test("a binding to nothing is an invalid task")
    func unknownBinding() throws {
        let document = CatalogDocument(
            modules: [CatalogFixture.onnx("a", file: "a.onnx")],
            tasks: [CatalogFixture.task("t", [("n1", "a", ["nowhere"])])])
        let error = try #require(try loadError(document, files: ["a.onnx": "A"]))
        #expect(error.code == .invalidTask)
        #expect(error.message.contains("nowhere"))
    }

    @Test("a missing weights file fails naming the module")
    func missingFile() throws {
        let document = CatalogDocument(modules: [CatalogFixture.onnx("lost", file: "lost.onnx")], tasks: [])
        let error = try #require(try loadError(document))
        #expect(error.code == .missingFile)
        #expect(error.entry == "lost")
        #expect(error.message.contains("lost.onnx"))
    }

    @Test("a declared sha256 that differs from the file's is a digest mismatch")
    func digestMismatch() throws {
        let wrong = String(repeating: "0", count: 64)
        let document = CatalogDocument(modules: [CatalogFixture.onnx("m", file: "m.onnx", sha256: wrong)], tasks: [])
        let error = try #require(try loadError(document, files: ["m.onnx": "abc"]))
        #expect(error.code == .digestMismatch)
        #expect(error.entry == "m")
        #expect(error.message.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
    }

    @Test("duplicate ids, unknown dtypes and file-less onnx entries are rejected")
    func malformedModules() throws {
        let duplicate = try #require(try loadError(
            CatalogDocument(modules: [CatalogFixture.onnx("a", file: "a.onnx"), CatalogFixture.onnx("a", file: "a.onnx")], tasks: []),
            files: ["a.onnx": "A"]))
        #expect(duplicate.code == .duplicateModule)
        var badType = CatalogFixture.onnx("t", file: "a.onnx")
        badType.inputs = [TensorDeclaration(name: "x", dtype: "float99", shape: [])]
        let type = try #require(try loadError(CatalogDocument(modules: [badType], tasks: []), files: ["a.onnx": "A"]))
        #expect(type.code == .invalidModule)
        #expect(type.message.contains("float99"))
        let noFile = ModuleEntry(id: "nf", kind: .onnx, inputs: CatalogFixture.vector, outputs: CatalogFixture.vector)
        let missing = try #require(try loadError(CatalogDocument(modules: [noFile], tasks: [])))
        #expect(missing.code == .invalidModule)
        #expect(missing.entry == "nf")
    }

    @Test("a file that is not a catalog is an invalid format error")
    func invalidJSON() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("bad.json", "{\"modules\": 3}")
        #expect(throws: CatalogError.self) {
            try ModuleCatalog.load(path: fixture.directory + "/bad.json", modelsDirectory: fixture.directory)
        }
        do {
            _ = try ModuleCatalog.load(path: fixture.directory + "/bad.json", modelsDirectory: fixture.directory)
        } catch {
            #expect(error.code == .invalidFormat)
        }
    }
}
