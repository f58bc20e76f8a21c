import Foundation
import Inference
import Runtime
import Testing

@Suite("Compute calibration")
struct CalibrationTests {
    /// The hand-written ONNX model loads in ONNX Runtime and multiplies matrices correctly.
    @Test func matMulModelComputesTheProduct() async throws {
        let n = 3
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("matmul-test-\(getpid()).onnx").path
        try Data(MatMulModel.bytes(size: n)).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = try await InferenceSession.load(modelPath: path)
        #expect(session.inputs.map(\.name) == ["A", "B"])
        let a: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let b: [Float] = [9, 8, 7, 6, 5, 4, 3, 2, 1]
        let out = try await session.run(inputs: [
            "A": try Tensor(float32: a, shape: [n, n]), "B": try Tensor(float32: b, shape: [n, n]),
        ])
        var expected = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { expected[i * n + j] += a[i * n + k] * b[k * n + j] } } }
        #expect(out["C"]?.float32Values == expected)
        #expect(out["C"]?.shape == [n, n])
    }

    @Test func calibrationMeasuresAPositiveSpeed() async throws {
        let result = try await ComputeCalibration.run(size: 128, duration: .milliseconds(100))
        print("calibration (128×128, 0.1 s): \(result.gflops) GFLOP/s over \(result.runs) runs")
        #expect(result.runs >= 1)
        #expect(result.seconds >= 0.1)
        #expect(result.gflops > 0 && result.gflops.isFinite)
        // The fastest window is at least as fast as the whole run.
        let overall = 2.0 * 128 * 128 * 128 * Double(result.runs) / result.seconds / 1e9
        #expect(result.gflops >= overall * 0.999)
    }
}
