import Testing
import Inference

@Suite("InferenceThreadPool runs work on its own threads")
struct InferenceThreadPoolTests {
    @Test func jobsRunOnNamedPoolThreadsNotTheCallers() async {
        let pool = InferenceThreadPool(threadCount: 2, name: "s2m3-test-pool")
        let names = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<16 { group.addTask { await pool.execute { InferenceThreadPool.currentPoolName } } }
            return await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        #expect(names == ["s2m3-test-pool"])
        #expect(InferenceThreadPool.currentPoolName == nil, "the test itself runs on the cooperative pool")
    }

    @Test func sessionRunsExecuteOnTheSessionsPool() async throws {
        let pool = InferenceThreadPool(threadCount: 1, name: "s2m3-sess-pool")
        let session = try await InferenceSession.load(modelPath: try TestModels.dataset("sigmoid.onnx"), threadPool: pool)
        #expect(session.threadPool === pool)
        #expect(await pool.execute { InferenceThreadPool.currentPoolName } == "s2m3-sess-pool")
    }

    @Test func manyJobsAllComplete() async {
        let pool = InferenceThreadPool(threadCount: 3)
        let total = await withTaskGroup(of: Int.self) { group in
            for i in 0..<500 { group.addTask { await pool.execute { i * 2 } } }
            return await group.reduce(0, +)
        }
        #expect(total == 499 * 500)
    }
}
