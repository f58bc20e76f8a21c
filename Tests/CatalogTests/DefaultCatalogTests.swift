import Catalog
import Foundation
import Inference
import Testing

/// The committed catalog against the real model files made by scripts/setup.sh.
@Suite("Default catalog on the real models")
struct DefaultCatalogTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var modelsDirectory: String {
        let cache = ProcessInfo.processInfo.environment["S2M3_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repository.appendingPathComponent(".cache").path
        return (cache as NSString).appendingPathComponent("models")
    }

    @Test("every declared sha256 matches the file the set-up made; all modules are distinct")
    func loadsWithVerifiedDigests() throws {
        let path = Self.repository.appendingPathComponent("catalog/default.json").path
        let catalog: ModuleCatalog
        do {
            catalog = try ModuleCatalog.load(path: path, modelsDirectory: Self.modelsDirectory)
        } catch {
            Issue.record("\(error) (models folder \(Self.modelsDirectory): run scripts/setup.sh with the same S2M3_CACHE)")
            return
        }
        let onnx = catalog.modules.filter { $0.kind == .onnx }
        #expect(onnx.count == 9)
        #expect(onnx.allSatisfy { $0.filePath.map(FileManager.default.fileExists(atPath:)) == true })
        #expect(Set(catalog.modules.map(\.digest)).count == catalog.modules.count)
        #expect(catalog.tasks.count == 6)
    }
}

extension DefaultCatalogTests {
    @Test("each ONNX module's declared interface matches the model file's own metadata")
    func interfacesMatchModels() async throws {
        let path = Self.repository.appendingPathComponent("catalog/default.json").path
        let catalog = try ModuleCatalog.load(path: path, modelsDirectory: Self.modelsDirectory)
        for module in catalog.modules where module.kind == .onnx {
            let session = try await InferenceSession.load(modelPath: try #require(module.filePath))
            let problems = InterfaceCheck.mismatches(of: module, modelInputs: session.inputs, modelOutputs: session.outputs)
            #expect(problems.isEmpty, "\(module.id): \(problems)")
        }
    }
}
