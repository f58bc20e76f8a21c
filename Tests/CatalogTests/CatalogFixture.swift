import Catalog
import Foundation

/// Small catalogs over throw-away files, for the loader and sharing tests.
struct CatalogFixture {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "catalog-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    static let vector = [TensorDeclaration(name: "x", dtype: "float32", shape: [.symbol("N"), .fixed(4)])]

    static func onnx(_ id: String, file: String, sha256: String? = nil, arguments: Int = 1) -> ModuleEntry {
        let inputs = (0..<arguments).map { TensorDeclaration(name: "x\($0)", dtype: "float32", shape: [.symbol("N")]) }
        return ModuleEntry(id: id, kind: .onnx, file: file, sha256: sha256, inputs: arguments == 1 ? vector : inputs, outputs: vector)
    }

    static func task(_ id: String, _ nodes: [(String, String, [String])], inputs: [String] = ["in"]) -> TaskEntry {
        TaskEntry(id: id, inputs: inputs, nodes: nodes.map { TaskEntry.Node(id: $0.0, module: $0.1, inputs: $0.2) })
    }
}
