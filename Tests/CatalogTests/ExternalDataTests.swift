import Catalog
import Foundation
import Inference
import Runtime
import S2M3Core
import TestSupport
import Testing

/// Models whose weights live in `.onnx.data` files (written by ``ONNXModelWriter``), run by real
/// ONNX Runtime: the data files are part of the module.
@Suite("External data files")
struct ExternalDataTests {
    /// y = x + w, w (count floats) stored in `data`.
    static func writeModel(_ fixture: CatalogFixture, _ name: String, data: String, value: Float, count: Int = 1024) throws {
        let vector = [ONNXModelWriter.Dimension.fixed(count)]
        try ONNXModelWriter(
            inputs: [.init(name: "x", type: .float, shape: vector)], outputs: [.init(name: "y", type: .float, shape: vector)],
            nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
            initializers: [.init(name: "w", shape: [count], values: [Float](repeating: value, count: count), externalFile: data)]
        ).write(to: fixture.directory + "/" + name)
    }

    static func entry(_ id: String, file: String, data: [ExternalDataFile]? = nil, count: Int = 1024) -> ModuleEntry {
        let vector = [TensorDeclaration(name: "x", dtype: "float32", shape: [.fixed(count)])]
        return ModuleEntry(
            id: id, kind: .onnx, file: file, inputs: vector,
            outputs: [TensorDeclaration(name: "y", dtype: "float32", shape: [.fixed(count)])], externalData: data)
    }

    static func catalog(_ fixture: CatalogFixture, _ entries: [ModuleEntry]) throws(CatalogError) -> ModuleCatalog {
        try ModuleCatalog(document: CatalogDocument(modules: entries, tasks: []), modelsDirectory: fixture.directory)
    }

    static func error(_ fixture: CatalogFixture, _ entries: [ModuleEntry]) -> CatalogError? {
        do { _ = try catalog(fixture, entries); return nil } catch { return error }
    }

    static func run(_ catalog: ModuleCatalog, _ id: String, directory: String) async throws -> [Float] {
        let module = try await ModuleLoader(catalog: catalog, modelsDirectory: directory).load(id)
        let output = try await module.run(TensorBundle(tensors: ["x": BundleTensor(floats: [Float](repeating: 1, count: 1024))]))
        return try output.tensor("y").floats()
    }

    @Test("the same graph with different external weights: different digests, different outputs")
    func differentWeights() async throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try Self.writeModel(fixture, "a.onnx", data: "a.onnx.data", value: 2)
        try Self.writeModel(fixture, "b.onnx", data: "b.onnx.data", value: 5)
        // The two model files differ only in the data file's name; with equal names they are equal bytes.
        try FileManager.default.createDirectory(atPath: fixture.directory + "/twin", withIntermediateDirectories: true)
        try Self.writeModel(fixture, "twin/a.onnx", data: "a.onnx.data", value: 5)
        #expect(FileDigest.sha256(ofFileAt: fixture.directory + "/a.onnx") == FileDigest.sha256(ofFileAt: fixture.directory + "/twin/a.onnx"))
        let catalog = try Self.catalog(fixture, [
            Self.entry("a", file: "a.onnx"), Self.entry("b", file: "b.onnx", data: [ExternalDataFile(file: "b.onnx.data")]),
            Self.entry("twin", file: "twin/a.onnx"),
        ])
        #expect(catalog.module("a")?.externalDataFiles == ["a.onnx.data"])
        #expect(catalog.module("a")?.digest != catalog.module("twin")?.digest)
        #expect(catalog.sharedID["twin"] == "twin")
        #expect(try await Self.run(catalog, "a", directory: fixture.directory).first == 3)
        #expect(try await Self.run(catalog, "twin", directory: fixture.directory).first == 6)
        #expect(try await Self.run(catalog, "b", directory: fixture.directory).first == 6)
    }

    @Test("an edited data file is a digest mismatch: at load against the catalog, and against a declared sha256")
    func editedData() async throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try Self.writeModel(fixture, "m.onnx", data: "m.onnx.data", value: 2)
        let path = fixture.directory + "/m.onnx.data"
        let sha = try #require(FileDigest.sha256(ofFileAt: path))
        let catalog = try Self.catalog(fixture, [Self.entry("m", file: "m.onnx", data: [ExternalDataFile(file: "m.onnx.data", sha256: sha)])])
        try Data([Float](repeating: 7, count: 1024).withUnsafeBytes { Array($0) }).write(to: URL(fileURLWithPath: path))
        do {
            _ = try await ModuleLoader(catalog: catalog, modelsDirectory: fixture.directory).load("m")
            Issue.record("a changed data file was loaded")
        } catch {
            #expect(error.code == .digestMismatch)
        }
        let error = Self.error(fixture, [Self.entry("m", file: "m.onnx", data: [ExternalDataFile(file: "m.onnx.data", sha256: sha)])])
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.contains("m.onnx.data") == true)
    }

    @Test("a missing data file is missingFile; a declared list that differs from the model's is rejected")
    func missingAndUndeclared() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try Self.writeModel(fixture, "m.onnx", data: "m.onnx.data", value: 2)
        #expect(Self.error(fixture, [Self.entry("m", file: "m.onnx", data: [ExternalDataFile(file: "other.data")])])?.code == .invalidModule)
        #expect(Self.error(fixture, [Self.entry("m", file: "m.onnx", data: [])])?.code == .invalidModule)
        try FileManager.default.removeItem(atPath: fixture.directory + "/m.onnx.data")
        let error = Self.error(fixture, [Self.entry("m", file: "m.onnx")])
        #expect(error?.code == .missingFile)
        #expect(error?.message.contains("m.onnx.data") == true)
    }

    @Test("the memory probe counts the external data")
    func memoryProbe() async throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        let count = 4 << 20 / 4
        try Self.writeModel(fixture, "big.onnx", data: "big.onnx.data", value: 1, count: count)
        let bytes = try await ModuleMemoryProbe.measureHere(modelPath: fixture.directory + "/big.onnx")
        #expect(bytes >= count * 4, "measured \(bytes) bytes for a model with \(count * 4) bytes of external data")
    }
}
