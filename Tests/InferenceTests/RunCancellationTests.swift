import Foundation
import Inference
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A flag set on one thread and read on another.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

@Suite("Cancelling a run")
struct RunCancellationTests {
    private func cancelledError(_ task: Task<[String: Tensor], any Error>) async -> InferenceError? {
        do {
            _ = try await task.value
            Issue.record("the run finished although it was cancelled")
        } catch let error as InferenceError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    @Test func aQueuedRunIsSkipped() async throws {
        let pool = InferenceThreadPool(threadCount: 1)
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("sigmoid.onnx"), threadPool: pool)
        // The blocker occupies the only thread until the run has been cancelled, however busy the
        // machine is (no timing assumptions).
        let occupied = Flag(), release = DispatchSemaphore(value: 0)
        let blocker = Task { await pool.execute { occupied.set(); release.wait() } }
        while !occupied.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let x = try Tensor(float32: [Float](repeating: 0, count: 60), shape: [3, 4, 5])
        let run = Task { try await session.run(inputs: ["x": x]) }
        try await Task.sleep(for: .milliseconds(50))
        run.cancel()
        try await Task.sleep(for: .milliseconds(20))
        release.signal()
        let error = await cancelledError(run)
        #expect(error?.code == .cancelled)
        _ = await blocker.value
        // The session still works afterwards.
        #expect(try await session.run(inputs: ["x": x])["y"]?.float32Values?.first == 0.5)
    }

    /// 24 chained 1024x1024 matrix products (about 50 GFLOP) stop soon after cancellation.
    @Test(.timeLimit(.minutes(1)))
    func aRunningModelStopsAtTheNextOperator() async throws {
        let n = 1024, depth = 24
        var nodes: [ONNXModelWriter.Node] = []
        for i in 0..<depth {
            nodes.append(.init(op: "MatMul", inputs: [i == 0 ? "x" : "m\(i - 1)", "x"], outputs: [i == depth - 1 ? "y" : "m\(i)"]))
        }
        let model = ONNXModelWriter(
            inputs: [.init(name: "x", type: .float, shape: [.fixed(n), .fixed(n)])],
            outputs: [.init(name: "y", type: .float, shape: [.fixed(n), .fixed(n)])],
            nodes: nodes)
        let path = TestModels.temporaryPath(".onnx")
        try TestModels.write(model.serialized(), to: path)
        defer { unlink(path) }
        let session = try await InferenceSession.load(modelPath: path)
        let x = try Tensor(float32: [Float](repeating: 1e-3, count: n * n), shape: [n, n])

        let start = ContinuousClock.now
        let run = Task { try await session.run(inputs: ["x": x]) }
        try await Task.sleep(for: .milliseconds(100))
        run.cancel()
        let error = await cancelledError(run)
        #expect(error?.code == .cancelled)
        #expect(error?.runtimeMessage?.isEmpty == false, "ONNX Runtime's own message is kept")
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(10), "stopped after \(elapsed)")
    }
}
