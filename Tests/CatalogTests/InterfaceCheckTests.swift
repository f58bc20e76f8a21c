import Catalog
import Foundation
import Inference
import Runtime
import Testing

@Suite("Interface check")
struct InterfaceCheckTests {
    private func manifest() throws -> (ModuleManifest, CatalogFixture) {
        let fixture = try CatalogFixture()
        try fixture.write("m.onnx", "M")
        let catalog = try ModuleCatalog(
            document: CatalogDocument(modules: [CatalogFixture.onnx("m", file: "m.onnx")], tasks: []),
            modelsDirectory: fixture.directory)
        return (try #require(catalog.module("m")), fixture)
    }

    @Test("a dynamic model dimension accepts a symbol or a size; equal fixed sizes pass")
    func matching() throws {
        let (module, fixture) = try manifest()
        defer { fixture.remove() }
        let spec = TensorSpec(name: "x", elementType: .float32, shape: [nil, 4])
        #expect(InterfaceCheck.mismatches(of: module, modelInputs: [spec], modelOutputs: [spec]).isEmpty)
    }

    @Test("wrong dtype, wrong fixed size, unknown and undeclared names are reported; verify throws naming the module")
    func mismatching() throws {
        let (module, fixture) = try manifest()
        defer { fixture.remove() }
        let wrongType = TensorSpec(name: "x", elementType: .int64, shape: [nil, 4])
        let wrongSize = TensorSpec(name: "x", elementType: .float32, shape: [nil, 5])
        let extra = TensorSpec(name: "y", elementType: .float32, shape: [1])
        let problems = InterfaceCheck.mismatches(of: module, modelInputs: [wrongType, extra], modelOutputs: [wrongSize])
        #expect(problems.count == 3)
        #expect(problems.contains { $0.contains("int64") })
        #expect(problems.contains { $0.contains("dimension 1 is 5") })
        #expect(problems.contains { $0.contains("'y'") })
        let renamed = TensorSpec(name: "z", elementType: .float32, shape: [nil, 4])
        #expect(InterfaceCheck.mismatches(of: module, modelInputs: [renamed], modelOutputs: [renamed]).count == 4)
        do {
            try InterfaceCheck.verify(module, modelInputs: [wrongType], modelOutputs: [wrongSize])
            Issue.record("verify accepted a mismatching interface")
        } catch {
            #expect(error.code == .interfaceMismatch)
            #expect(error.entry == "m")
        }
    }
}
