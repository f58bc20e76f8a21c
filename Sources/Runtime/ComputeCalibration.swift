import Foundation
import Inference

/// The start-up benchmark behind `computeGflops`: a fixed float32 matrix multiply run through ONNX
/// Runtime on one inference thread (as modules run) for a short, fixed time.
public enum ComputeCalibration {
    /// The result of one calibration.
    public struct Result: Sendable, Hashable {
        /// Floating-point operations per second, in GFLOP/s (the fastest window).
        public var gflops: Double
        public var runs: Int
        public var seconds: Double
    }

    /// Multiplies two `size`×`size` matrices repeatedly for about `duration` after one warm-up run;
    /// the speed is that of the fastest of five equal windows.
    public static func run(size: Int = 256, duration: Duration = .milliseconds(300)) async throws(InferenceError) -> Result {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("s2m3-calibration-\(getpid())-\(UUID().uuidString).onnx").path
        guard FileManager.default.createFile(atPath: path, contents: Data(MatMulModel.bytes(size: size))) else {
            throw InferenceError(.runtimeFailure, "calibration: cannot write the benchmark model to \(path); check the temporary folder")
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
            let flopsPerRun = 2.0 * Double(size) * Double(size) * Double(size)
            // The speed is the best of several short windows: a start-up shared with other
            // processes (a whole local cluster starting at once) then disturbs it less.
            let clock = ContinuousClock()
            let start = clock.now
            let window = duration / 5
            var runs = 0
            var best = 0.0
            repeat {
                let windowStart = clock.now
                var windowRuns = 0
                repeat {
                    _ = try await session.run(inputs: inputs)
                    windowRuns += 1
                } while clock.now - windowStart < window
                runs += windowRuns
                best = max(best, flopsPerRun * Double(windowRuns) / Self.seconds(clock.now - windowStart))
            } while clock.now - start < duration
            return Result(gflops: best / 1e9, runs: runs, seconds: Self.seconds(clock.now - start))
        } catch {
            throw InferenceError(.runtimeFailure, "calibration: the matrix-multiply benchmark failed in ONNX Runtime: \(error)")
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
