import TestSupport
import Testing
import Inference
#if canImport(Glibc)
import Glibc
#endif

@Suite("InferenceSession runs real models")
struct InferenceSessionTests {
    @Test func readsMetadataOfTheWheelsModels() throws {
        let mul = try InferenceSession(modelPath: try TestModels.dataset("mul_1.onnx"))
        #expect(mul.inputs == [TensorSpec(name: "X", elementType: .float32, shape: [3, 2])])
        #expect(mul.outputs == [TensorSpec(name: "Y", elementType: .float32, shape: [3, 2])])

        let iris = try InferenceSession(modelPath: try TestModels.dataset("logreg_iris.onnx"))
        #expect(iris.inputs.map(\.name) == ["float_input"])
        #expect(iris.outputs.map(\.name) == ["label", "probabilities"])
        #expect(iris.outputs[0].elementType == .int64)
        #expect(iris.outputs[1].elementType == nil, "probabilities is a sequence of maps, not a tensor")
    }

    @Test func multipliesAsTheModelSays() async throws {
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("mul_1.onnx"))
        let x: [Float] = [1, 2, 3, 4, 5, -6.5]
        let out = try await session.run(inputs: ["X": Tensor(float32: x, shape: [3, 2])], outputs: ["Y"])
        let y = try #require(out["Y"])
        #expect(y.shape == [3, 2])
        // mul_1.onnx multiplies element-wise by the constant [[1, 2], [3, 4], [5, 6]].
        #expect(y.float32Values == [1, 4, 9, 16, 25, -39])
    }

    @Test func sigmoidMatchesTheFormula() async throws {
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("sigmoid.onnx"))
        let x = (0..<60).map { Float($0) / 6 - 5 }
        let out = try await session.run(inputs: ["x": Tensor(float32: x, shape: [3, 4, 5])])
        let y = try #require(out["y"]?.float32Values)
        #expect(out["y"]?.shape == [3, 4, 5])
        for (value, input) in zip(y, x) {
            #expect(abs(value - 1 / (1 + exp(-input))) < 1e-6)
        }
    }

    /// Expected labels from the Python onnxruntime 1.32 package on the same model and inputs.
    @Test func classifiesIrisWithInt64Labels() async throws {
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("logreg_iris.onnx"))
        let x: [Float] = [7, -9, -4, -1.5, 1, 9]
        let out = try await session.run(inputs: ["float_input": Tensor(float32: x, shape: [3, 2])], outputs: ["label"])
        #expect(out["label"]?.int64Values == [2, 1, 0])
        #expect(out["label"]?.shape == [3])
    }

    /// A model built in the test exchanges every element type through real ONNX Runtime.
    @Test func exchangesEveryElementType() async throws {
        let model = ONNXModelWriter(
            inputs: [
                .init(name: "i32", type: .int32, shape: [.named("n")]),
                .init(name: "u8", type: .uint8, shape: [.fixed(2), .fixed(2)]),
                .init(name: "flag", type: .bool, shape: [.named("m")]),
                .init(name: "i64", type: .int64, shape: [.fixed(3)]),
            ],
            outputs: [
                .init(name: "i32_doubled", type: .int32, shape: [.named("n")]),
                .init(name: "u8_as_float", type: .float, shape: [.fixed(2), .fixed(2)]),
                .init(name: "not_flag", type: .bool, shape: [.named("m")]),
                .init(name: "i64_neg", type: .int64, shape: [.fixed(3)]),
            ],
            nodes: [
                .init(op: "Add", inputs: ["i32", "i32"], outputs: ["i32_doubled"]),
                .init(op: "Cast", inputs: ["u8"], outputs: ["u8_as_float"], intAttributes: ["to": 1]),
                .init(op: "Not", inputs: ["flag"], outputs: ["not_flag"]),
                .init(op: "Neg", inputs: ["i64"], outputs: ["i64_neg"]),
            ])
        let path = TestModels.temporaryPath(".onnx")
        try TestModels.write(model.serialized(), to: path)
        defer { unlink(path) }

        let session = try await InferenceSession.load(modelPath: path)
        #expect(session.inputs[0] == TensorSpec(name: "i32", elementType: .int32, shape: [nil], dimensionNames: ["n"]))
        let out = try await session.run(inputs: [
            "i32": Tensor(int32: [1, -2, Int32.max / 2, 7, 0], shape: [5]),
            "u8": Tensor(uint8: [0, 1, 128, 255], shape: [2, 2]),
            "flag": Tensor(bool: [true, false, false], shape: [3]),
            "i64": Tensor(int64: [Int64.max, -1, 1 << 40], shape: [3]),
        ])
        #expect(out["i32_doubled"]?.int32Values == [2, -4, Int32.max / 2 * 2, 14, 0])
        #expect(out["u8_as_float"]?.float32Values == [0, 1, 128, 255])
        #expect(out["u8_as_float"]?.shape == [2, 2])
        #expect(out["not_flag"]?.boolValues == [false, true, true])
        #expect(out["i64_neg"]?.int64Values == [-Int64.max, 1, -(1 << 40)])
    }

    @Test func manyConcurrentRunsAllGetTheirOwnAnswer() async throws {
        let pool = InferenceThreadPool(threadCount: 2)
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("mul_1.onnx"), threadPool: pool)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<64 {
                group.addTask {
                    let x = (0..<6).map { Float(task * 6 + $0) }
                    let out = try await session.run(inputs: ["X": Tensor(float32: x, shape: [3, 2])])
                    return out["Y"]?.float32Values == x.enumerated().map { $1 * Float($0 + 1) }
                }
            }
            var correct = 0
            for try await ok in group where ok { correct += 1 }
            #expect(correct == 64)
        }
    }

    /// A model holding 16 MiB of weights must add at least that much resident memory when loaded.
    @Test func loadingAModelAddsItsWeightsToResidentMemory() async throws {
        let count = 4 << 20
        let model = ONNXModelWriter(
            inputs: [.init(name: "x", type: .float, shape: [.fixed(1)])],
            outputs: [.init(name: "y", type: .float, shape: [.fixed(count)])],
            nodes: [.init(op: "Mul", inputs: ["x", "w"], outputs: ["y"])],
            initializers: [.init(name: "w", shape: [count], values: (0..<count).map { Float($0 % 1000) })])
        let path = TestModels.temporaryPath(".onnx")
        try TestModels.write(model.serialized(), to: path)
        defer { unlink(path) }

        // Other tests run in this process at the same time and may free memory while this one
        // measures, which lowers a single reading; the largest of three loads is what loading costs.
        // All three stay loaded, so no load reuses the pages of an earlier one.
        var sessions: [InferenceSession] = []
        var loaded = 0
        for _ in 0..<3 {
            let (candidate, bytes) = try await InferenceSession.loadMeasured(modelPath: path)
            sessions.append(candidate)
            loaded = max(loaded, bytes)
        }
        let session1 = try #require(sessions.first)
        #expect(loaded >= 16 << 20, "loading 16 MiB of weights added \(loaded) bytes (measured about 36 MB)")
        let out = try await session1.run(inputs: ["x": Tensor(float32: [2], shape: [1])])
        #expect(out["y"]?.float32Values?[999] == 1998)
        #expect(try ResidentMemory.currentBytes() > loaded)
        #expect(InferenceSession.runtimeVersion.hasPrefix("1."))
    }
}
