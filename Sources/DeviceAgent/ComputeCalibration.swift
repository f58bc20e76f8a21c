import Foundation
import Inference

/// The start-up benchmark behind `computeGflops`: a fixed float32 matrix multiply run through ONNX
/// Runtime on one inference thread (as modules run) for a short, fixed time.
public enum ComputeCalibration {
    /// The result of one calibration.
    public struct Result: Sendable, Hashable {
        /// Floating-point operations per second, in GFLOP/s.
        public var gflops: Double
        public var runs: Int
        public var seconds: Double
    }

    /// Multiplies two `size`×`size` matrices repeatedly for about `duration` after one warm-up run.
    public static func run(size: Int = 256, duration: Duration = .milliseconds(300)) async throws(DeviceAgentError) -> Result {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("s2m3-calibration-\(getpid())-\(size).onnx").path
        guard FileManager.default.createFile(atPath: path, contents: Data(MatMulModel.bytes(size: size))) else {
            throw DeviceAgentError(.calibrationFailed, "cannot write the benchmark model to \(path); check the temporary folder")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let pool = InferenceThreadPool(threadCount: 1, name: "s2m3-calibration")
            let session = try await InferenceSession.load(modelPath: path, threadPool: pool)
            var values = [Float](repeating: 0, count: size * size)
            for index in values.indices { values[index] = Float(index % 17) * 0.01 - 0.08 }
            let matrix = try Tensor(float32: values, shape: [size, size])
            let inputs = ["A": matrix, "B": matrix]
            _ = try await session.run(inputs: inputs)
            let clock = ContinuousClock()
            let start = clock.now
            var runs = 0
            repeat {
                _ = try await session.run(inputs: inputs)
                runs += 1
            } while clock.now - start < duration
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let flops = 2.0 * Double(size) * Double(size) * Double(size) * Double(runs)
            return Result(gflops: flops / seconds / 1e9, runs: runs, seconds: seconds)
        } catch {
            throw DeviceAgentError(.calibrationFailed, "the matrix-multiply benchmark failed in ONNX Runtime: \(error)")
        }
    }
}
