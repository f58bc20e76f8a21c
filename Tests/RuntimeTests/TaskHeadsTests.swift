import Testing

@testable import Runtime

@Suite("Task heads")
struct TaskHeadsTests {
    @Test func softmaxSumsToOneAndKeepsOrder() {
        let p = TaskHeads.softmax([1, 3, 2])
        #expect(abs(p.reduce(0, +) - 1) < 1e-5)
        #expect(p[1] > p[2] && p[2] > p[0])
        #expect(TaskHeads.softmax([0, 1000])[1] == 1)  // no overflow
        #expect(TaskHeads.softmax([]).isEmpty)
    }

    @Test func topKIsLargestFirstWithStableTies() {
        let top = TaskHeads.topK([0.1, 0.5, 0.5, 0.9], k: 3)
        #expect(top.map(\.index) == [3, 1, 2])
        #expect(TaskHeads.topK([1, 2], k: 5).count == 2)
        #expect(TaskHeads.topK([1, 2], k: -1).isEmpty)
    }

    @Test func cosineHandlesOrthogonalParallelAndDegenerate() {
        #expect(TaskHeads.cosine([1, 0], [0, 2]) == 0)
        #expect(abs(TaskHeads.cosine([1, 2], [2, 4]) - 1) < 1e-6)
        #expect(TaskHeads.cosine([0, 0], [1, 1]) == 0)
        #expect(TaskHeads.cosine([1], [1, 2]) == 0)
        #expect(TaskHeads.cosineMatch(query: [1, 0], candidates: [[1, 0], [-1, 0]]) == [1, -1])
    }

    @Test func labelBridgeWeightsLabelEmbeddings() {
        let bridged = TaskHeads.labelBridge(probabilities: [0.75, 0.25], labelEmbeddings: [[1, 0], [0, 1]])
        #expect(abs(bridged[0] - 0.75 / (0.625 as Float).squareRoot()) < 1e-6)
        #expect(abs(bridged.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        #expect(TaskHeads.labelBridge(probabilities: [1], labelEmbeddings: [[1], [2]]).isEmpty)
    }
}
