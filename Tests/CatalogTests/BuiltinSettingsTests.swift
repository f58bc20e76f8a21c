import Catalog
import Foundation
import S2M3Core
import Testing

@Suite("Built-in settings")
struct BuiltinSettingsTests {
    static let file = [TensorDeclaration(name: "file", dtype: "uint8", shape: [.symbol("B")])]

    static func preprocess(_ settings: String?, output: [Int] = [1, 3, 224, 224], id: String = "pre") throws -> ModuleEntry {
        let values = try settings.map { try JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8)) }
        return ModuleEntry(
            id: id, kind: .builtin, operation: "image-preprocess", inputs: file,
            outputs: [TensorDeclaration(name: "image", dtype: "float32", shape: output.map { .fixed($0) })], settings: values)
    }

    static func load(_ modules: [ModuleEntry]) throws(CatalogError) -> ModuleCatalog {
        try ModuleCatalog(document: CatalogDocument(modules: modules, tasks: []), modelsDirectory: "/nonexistent")
    }

    static func error(_ modules: [ModuleEntry]) -> CatalogError? {
        do { _ = try load(modules); return nil } catch { return error }
    }

    static let clip = #"{"resize": "shorter-side", "size": 224, "crop": 224, "interpolation": "bicubic", "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}"#

    @Test("settings are part of the digest; no settings keep the digest settings-free")
    func settingsChangeTheDigest() throws {
        let catalog = try Self.load([
            try Self.preprocess(nil, id: "plain"), try Self.preprocess("{}", id: "empty"),
            try Self.preprocess(Self.clip, id: "clip"), try Self.preprocess(#"{"interpolation": "bicubic"}"#, id: "bicubic"),
        ])
        let digests = ["plain", "empty", "clip", "bicubic"].map { catalog.module($0)!.digest }
        #expect(digests[0] == digests[1])
        #expect(Set(digests).count == 3)
        #expect(catalog.sharedID["empty"] == "plain")
        #expect(catalog.module("clip")!.settings.values["interpolation"] == .string("bicubic"))
    }

    @Test("the same settings in another key order or number spelling are the same module")
    func canonicalSettings() throws {
        let catalog = try Self.load([
            try Self.preprocess(#"{"size": 224, "interpolation": "bicubic"}"#, id: "a"),
            try Self.preprocess(#"{"interpolation": "bicubic", "size": 224.0}"#, id: "b"),
        ])
        #expect(catalog.module("a")!.digest == catalog.module("b")!.digest)
    }

    @Test("unknown keys and impossible values are rejected at load, naming the key")
    func invalidSettings() throws {
        let cases: [(String, String)] = [
            (#"{"config": 1}"#, "\"config\""),
            (#"{"size": 0}"#, "\"size\""),
            (#"{"size": 100000}"#, "\"size\""),
            (#"{"size": 22.5}"#, "\"size\""),
            (#"{"interpolation": "nearest"}"#, "\"interpolation\""),
            (#"{"mean": [0.5, 0.5]}"#, "\"mean\""),
            (#"{"std": [0.5, 0, 0.5]}"#, "\"std\""),
            (#"{"resize": "shorter-side", "size": 224}"#, "\"crop\""),
            (#"{"resize": "shorter-side", "size": 224, "crop": 256}"#, "\"crop\""),
            (#"{"crop": 200}"#, "\"crop\""),
            (#"{"channelOrder": "rbg"}"#, "\"channelOrder\""),
        ]
        for (settings, key) in cases {
            let error = Self.error([try Self.preprocess(settings)])
            #expect(error?.code == .invalidModule, "\(settings)")
            #expect(error?.message.contains("setting \(key)") == true, "\(settings): \(error?.message ?? "accepted")")
        }
        let onnx = ModuleEntry(id: "m", kind: .onnx, file: "m.onnx", inputs: Self.file, outputs: Self.file, settings: ["size": .number(1)])
        #expect(Self.error([onnx])?.code == .invalidModule)
        var topK = try Self.preprocess(nil)
        topK.operation = "top-k"
        topK.settings = ["k": .number(3)]
        #expect(Self.error([topK])?.message.contains("setting \"k\"") == true)
    }

    @Test("the declared output shape must be what the settings produce")
    func declaredShapeMismatch() throws {
        let error = Self.error([try Self.preprocess(nil, output: [1, 3, 336, 336])])
        #expect(error?.code == .invalidModule)
        #expect(error?.message.contains("[1,3,224,224]") == true)
        #expect(Self.error([try Self.preprocess(#"{"size": 336}"#, output: [1, 3, 336, 336])]) == nil)
        #expect(Self.error([try Self.preprocess(#"{"size": [320, 240]}"#, output: [1, 3, 240, 320])]) == nil)
        #expect(Self.error([try Self.preprocess(#"{"resize": "shorter-side", "size": 256, "crop": [224, 200]}"#, output: [1, 3, 200, 224])]) == nil)
        #expect(Self.error([try Self.preprocess(#"{"size": 336}"#, output: [1, 3, 224, 224])])?.code == .invalidModule)
    }

    @Test("an unknown built-in operation is rejected at load")
    func unknownBuiltin() throws {
        var entry = try Self.preprocess(nil)
        entry.operation = "image-preprocesss"
        let error = Self.error([entry])
        #expect(error?.code == .invalidModule)
        #expect(error?.message.contains("no built-in operation 'image-preprocesss'") == true)
    }

    @Test("an unknown module key in a catalog file is rejected, naming it")
    func unknownEntryKey() throws {
        let json = #"{"modules": [{"id": "pre", "kind": "builtin", "operation": "image-preprocess", "config": {"size": 336}, "inputs": [], "outputs": [{"name": "image", "dtype": "float32", "shape": [1, 3, 224, 224]}]}], "tasks": []}"#
        let path = NSTemporaryDirectory() + "catalog-unknown-key-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ModuleCatalog.load(path: path, modelsDirectory: "/nonexistent")
            Issue.record("a module with an unknown key was accepted")
        } catch {
            #expect(error.code == .invalidFormat)
            #expect(error.message.contains("unknown module key \"config\""))
        }
    }

    @Test("a tokenizer's vocabulary must be one of its assets; maxLength is bounded")
    func tokenizerSettings() throws {
        let fixture = try CatalogFixture()
        defer { fixture.remove() }
        try fixture.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
        func entry(_ settings: [String: JSONValue]) -> ModuleEntry {
            let text = [TensorDeclaration(name: "text", dtype: "string", shape: [.symbol("N")])]
            let ids = [TensorDeclaration(name: "input_ids", dtype: "int64", shape: [.symbol("N"), .symbol("T")])]
            return ModuleEntry(id: "tok", kind: .builtin, operation: "wordpiece-tokenize", assets: ["vocab.txt"], inputs: text, outputs: ids, settings: settings)
        }
        func error(_ settings: [String: JSONValue]) -> CatalogError? {
            do {
                _ = try ModuleCatalog(document: CatalogDocument(modules: [entry(settings)], tasks: []), modelsDirectory: fixture.directory)
                return nil
            } catch { return error }
        }
        #expect(error(["vocabulary": .string("vocab.txt"), "maxLength": .number(77)]) == nil)
        #expect(error(["vocabulary": .string("other.txt")])?.message.contains("setting \"vocabulary\"") == true)
        #expect(error(["vocabulary": .string("vocab.txt"), "maxLength": .number(1)])?.message.contains("setting \"maxLength\"") == true)
    }
}
