import Testing
import Inference
#if canImport(Glibc)
import Glibc
#endif

@Suite("Bad input to the engine gives typed errors naming the problem")
struct InferenceErrorTests {
    /// The ``InferenceError`` thrown by `body`; records an issue if it throws another error or none.
    private func error(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> InferenceError? {
        do {
            try await body()
            Issue.record("expected an InferenceError", sourceLocation: sourceLocation)
        } catch let error as InferenceError {
            return error
        } catch {
            Issue.record("expected an InferenceError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    private func mul() async throws -> InferenceSession {
        try await InferenceSession.load(modelPath: try TestModels.dataset("mul_1.onnx"))
    }

    @Test func missingModelFile() async {
        let path = "/nonexistent/s2m3/model.onnx"
        let e = await error { _ = try await InferenceSession.load(modelPath: path) }
        #expect(e?.code == .modelNotFound)
        #expect(e?.modelPath == path)
        #expect(e?.description.contains(path) == true)
    }

    @Test(arguments: [[UInt8](), Array("this is not an ONNX model".utf8), [0x08, 0x07, 0x3a, 0xff, 0xff, 0x01]])
    func corruptModelFile(bytes: [UInt8]) async throws {
        let path = TestModels.temporaryPath(".onnx")
        try TestModels.write(bytes, to: path)
        defer { unlink(path) }
        let e = await error { _ = try await InferenceSession.load(modelPath: path) }
        #expect(e?.code == .invalidModel)
        #expect(e?.modelPath == path)
        #expect(e?.runtimeMessage?.isEmpty == false, "ONNX Runtime's own message is kept")
    }

    @Test func truncatedRealModel() async throws {
        let source = try TestModels.dataset("logreg_iris.onnx")
        let file = try #require(fopen(source, "rb"))
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = fread(&bytes, 1, bytes.count, file)
        fclose(file)
        let path = TestModels.temporaryPath(".onnx")
        try TestModels.write(Array(bytes[0..<(count / 2)]), to: path)
        defer { unlink(path) }
        let e = await error { _ = try await InferenceSession.load(modelPath: path) }
        #expect(e?.code == .invalidModel)
    }

    @Test func wrongElementType() async throws {
        let session = try await mul()
        let e = await error { _ = try await session.run(inputs: ["X": Tensor(int64: [1, 2, 3, 4, 5, 6], shape: [3, 2])]) }
        #expect(e?.code == .wrongElementType)
        #expect(e?.tensorName == "X")
        #expect(e?.message.contains("float32") == true && e?.message.contains("int64") == true)
    }

    @Test(arguments: [[2, 3], [6], [1, 3, 2]])
    func wrongShape(shape: [Int]) async throws {
        let session = try await mul()
        let e = await error { _ = try await session.run(inputs: ["X": Tensor(float32: [1, 2, 3, 4, 5, 6], shape: shape)]) }
        #expect(e?.code == .wrongShape)
        #expect(e?.tensorName == "X")
    }

    @Test func missingAndUnknownInputNames() async throws {
        let session = try await mul()
        let missing = await error { _ = try await session.run(inputs: [:]) }
        #expect(missing?.code == .missingInput)
        #expect(missing?.tensorName == "X")
        let x = try Tensor(float32: [1, 2, 3, 4, 5, 6], shape: [3, 2])
        let unknown = await error { _ = try await session.run(inputs: ["X": x, "x2": x]) }
        #expect(unknown?.code == .unknownInput)
        #expect(unknown?.tensorName == "x2")
    }

    @Test func unknownAndUnsupportedOutputs() async throws {
        let session = try await mul()
        let x = try Tensor(float32: [1, 2, 3, 4, 5, 6], shape: [3, 2])
        let unknown = await error { _ = try await session.run(inputs: ["X": x], outputs: ["Z"]) }
        #expect(unknown?.code == .unknownOutput)
        #expect(unknown?.tensorName == "Z")

        let iris = try await InferenceSession.load(modelPath: try TestModels.dataset("logreg_iris.onnx"))
        let maps = await error { _ = try await iris.run(inputs: ["float_input": x], outputs: ["probabilities"]) }
        #expect(maps?.code == .unsupportedType)
        #expect(maps?.tensorName == "probabilities")
    }

    @Test func valuesThatDoNotFitTheShape() {
        #expect(throws: InferenceError.self) { try Tensor(float32: [1, 2, 3], shape: [2, 2]) }
        #expect(throws: InferenceError.self) { try Tensor(uint8: [], shape: [-1]) }
    }
}
