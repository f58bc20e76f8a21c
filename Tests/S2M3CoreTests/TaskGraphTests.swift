import Testing

@testable import S2M3Core

@Suite("TaskGraph")
struct TaskGraphTests {
    private func graph(_ nodes: [(String, [String])], inputs: [String] = ["in"]) -> TaskGraph {
        TaskGraph(
            inputs: inputs.map { TaskGraph.Input(id: $0) },
            nodes: nodes.map { TaskNode(id: $0.0, module: "m", inputs: $0.1) })
    }

    @Test func ordersProducersBeforeConsumersDeterministically() throws {
        // Declared consumer-first; ties among ready nodes go to the lower declaration index.
        let g = graph([("head", ["b", "a"]), ("b", ["in"]), ("a", ["in"]), ("tail", ["head"])])
        let order = try g.topologicalOrder()
        #expect(order.map { g.nodes[$0].id } == ["b", "a", "head", "tail"])
        #expect(try g.sinkIndices() == [3])
    }

    @Test func namesTheCycle() {
        let g = graph([("a", ["in", "c"]), ("b", ["a"]), ("c", ["b"]), ("d", ["in"])])
        #expect {
            try g.topologicalOrder()
        } throws: { error in
            guard let error = error as? TaskGraphError else { return false }
            return error.code == .cycle && error.message.contains("a → b → c → a")
        }
    }

    @Test func selfLoopIsACycle() {
        let g = graph([("a", ["a"])])
        #expect(throws: TaskGraphError.self) { try g.validate() }
    }

    @Test func rejectsUnknownInputsAndDuplicateIDs() {
        #expect {
            try graph([("a", ["nowhere"])]).validate()
        } throws: { ($0 as? TaskGraphError)?.code == .unknownInput && "\($0)".contains("nowhere") }
        #expect {
            try graph([("in", [])]).validate()
        } throws: { ($0 as? TaskGraphError)?.code == .duplicateID }
        #expect {
            try graph([]).validate()
        } throws: { ($0 as? TaskGraphError)?.code == .empty }
    }
}
