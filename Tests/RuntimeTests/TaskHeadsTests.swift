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

    /// Selection (a few of many) and sorting (the rest) agree on every k, ties and signs included.
    @Test func topKSelectsWhatSortingSelects() {
        var state: UInt64 = 0x70_9C
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        for round in 0..<120 {
            let count = Int(next() % 1_200)
            // Few distinct values in some rounds, so ties are common.
            let distinct = round % 3 == 0 ? 4 : 1_000_000
            let scores = (0..<count).map { _ in Float(Int(next() % UInt64(distinct)) - distinct / 2) / 7 }
            for k in [0, 1, 2, 5, 16, 17, count / 8, count / 2, count, count + 3] {
                let selected = TaskHeads.topK(scores, k: k), sorted = TaskHeads.sortedTopK(scores, k: k)
                #expect(selected.map(\.index) == sorted.map(\.index) && selected.map(\.score) == sorted.map(\.score), "\(count) scores, k \(k)")
            }
        }
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
