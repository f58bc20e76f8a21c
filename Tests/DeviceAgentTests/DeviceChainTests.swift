import DeviceAgent
import Runtime
import S2M3Core
import Testing

/// A chained invocation (topics.md, "Chains") on the device: its steps run one after another in
/// one queue place, each on the earlier outputs and the bundle's `~` values, each answered once.
@Suite("Device agent: co-located chains")
struct DeviceChainTests {
    typealias Machine = DeviceAgentStateMachine
    typealias T = DeviceAgentStateMachineTests

    /// `a` on `x`, then `b` on a's `y` and the sent value `img`'s `x`, then `c` on b's `z`.
    static func chained(deadlineMs: Int = 10_000) throws -> [UInt8] {
        let invoke = InvokeRequest(
            requestID: "r1", task: "t", node: "n1", module: "a", epoch: 1, attempt: 1, replyTo: "agg-1", deadlineMs: deadlineMs,
            returnsOutputs: false,
            chain: [
                .init(node: "n2", module: "b", attempt: 2, returnsOutputs: true,
                      arguments: [.init(value: "n1", tensor: "y"), .init(value: "img", tensor: "x")]),
                .init(node: "n3", module: "c", attempt: 1, returnsOutputs: true, arguments: [.init(value: "n2", tensor: "z")]),
            ])
        var bundle = TensorBundle()
        try bundle.set(BundleTensor(floats: [1, 2]), named: "x")
        try bundle.set(BundleTensor(floats: [7]), named: "~img~x")
        return try invoke.bundle(inputs: bundle).encoded()
    }

    static func one(_ name: String, _ value: Float) throws -> TensorBundle {
        try TensorBundle(tensors: [name: BundleTensor(floats: [value])])
    }

    static func hosting() throws -> Machine {
        var machine = T.machine()
        var actions = try T.assign(&machine, 1, [("a", 10), ("b", 10), ("c", 10)])
        while let load = T.loads(actions).first {
            actions = machine.loadFinished(load, callInputs: .success(load == "b" ? ["p", "q"] : ["x"]))
        }
        return machine
    }

    @Test func stepsRunInTurnOnEarlierOutputsAndEachIsAnsweredOnce() throws {
        var machine = try Self.hosting()
        let first = machine.receive(topic: T.invokeTopic("a"), payload: try Self.chained(), properties: .init(), nowMs: 100)
        let run1 = try #require(T.runs(first).first)
        #expect(run1.module == "a" && run1.inputs.names == ["x"], "the `~` value is not an argument of the first node")

        // a finishes: its answer carries no outputs (kept); b starts on a's y and the sent img.x, renamed p, q.
        let second = machine.runFinished(
            run1.ticket, .finished(.success(try Self.one("y", 3))), computeMs: 4, nowMs: 110)
        let run2 = try #require(T.runs(second).first)
        #expect(run2.ticket == run1.ticket && run2.module == "b")
        #expect(try run2.inputs.tensor("p").floats() == [3] && run2.inputs.tensor("q").floats() == [7])
        let answer1 = try #require(T.answers(second).first)
        #expect(answer1.partial.node == "n1" && answer1.partial.status == .ok && answer1.outputs.names.isEmpty)
        #expect(machine.queueDepth == 1, "the chain holds one queue place")

        let third = machine.runFinished(
            run2.ticket, .finished(.success(try Self.one("z", 5))), computeMs: 6, nowMs: 120)
        let run3 = try #require(T.runs(third).first)
        #expect(run3.module == "c")
        #expect(try run3.inputs.tensor("x").floats() == [5])
        let answer2 = try #require(T.answers(third).first)
        #expect(answer2.partial.node == "n2" && answer2.partial.attempt == 2 && answer2.partial.module == "b")
        #expect(try answer2.outputs.tensor("z").floats() == [5], "a node another device reads is returned")

        let last = machine.runFinished(
            run3.ticket, .finished(.success(try Self.one("w", 9))), computeMs: 2, nowMs: 130)
        #expect(T.runs(last).isEmpty && machine.queueDepth == 0)
        let answer3 = try #require(T.answers(last).first)
        #expect(answer3.partial.node == "n3" && answer3.partial.computeMs == 2 && answer3.partial.queueWaitMs == 0)
        #expect(try answer3.outputs.tensor("w").floats() == [9])
        #expect(machine.telemetry(nowMs: 140, residentMemoryBytes: 0).modules.keys.sorted() == ["a", "b", "c"])
    }

    @Test func aStepWhoseModuleIsNotLoadedEndsTheChainWithAnErrorAndFreesThePlace() throws {
        var machine = T.machine()
        var actions = try T.assign(&machine, 1, [("a", 10)])
        while let load = T.loads(actions).first { actions = machine.loadFinished(load, callInputs: .success(["x"])) }
        let first = machine.receive(topic: T.invokeTopic("a"), payload: try Self.chained(), properties: .init(), nowMs: 100)
        let run1 = try #require(T.runs(first).first)
        let after = machine.runFinished(
            run1.ticket, .finished(.success(try Self.one("y", 3))), computeMs: 4, nowMs: 110)
        #expect(T.runs(after).isEmpty && machine.queueDepth == 0)
        let answers = T.answers(after)
        #expect(answers.map(\.partial.node) == ["n1", "n2"], "no answer for n3: the aggregator re-sends what it needs")
        #expect(answers[1].partial.status == .error && answers[1].partial.error?.hasPrefix("not-loaded:") == true)
    }

    @Test func aStepPastTheDeadlineIsAnsweredDeadlineExceeded() throws {
        var machine = try Self.hosting()
        let first = machine.receive(topic: T.invokeTopic("a"), payload: try Self.chained(deadlineMs: 200), properties: .init(), nowMs: 100)
        let run1 = try #require(T.runs(first).first)
        let after = machine.runFinished(
            run1.ticket, .finished(.success(try Self.one("y", 3))), computeMs: 4, nowMs: 250)
        #expect(T.runs(after).isEmpty)
        #expect(T.answers(after).last?.partial.error?.hasPrefix("deadline-exceeded:") == true)
    }

    @Test func aMalformedChainValueIsRefusedAsABadInvocation() throws {
        var machine = try Self.hosting()
        let invoke = InvokeRequest(
            requestID: "r2", task: "t", node: "n1", module: "a", epoch: 1, replyTo: "agg-1", deadlineMs: 10_000,
            chain: [.init(node: "n2", module: "c", attempt: 1, returnsOutputs: true, arguments: [.init(value: "n1", tensor: "y")])])
        var bundle = TensorBundle()
        try bundle.set(BundleTensor(floats: [1]), named: "x")
        try bundle.set(BundleTensor(floats: [1]), named: "~no-separator")
        let actions = machine.receive(topic: T.invokeTopic("a"), payload: try invoke.bundle(inputs: bundle).encoded(), properties: .init(), nowMs: 1)
        #expect(T.runs(actions).isEmpty)
        #expect(T.answers(actions).first?.partial.status == .error)
    }

    @Test func theChainSurvivesTheBundleRoundTrip() throws {
        let decoded = try InvokeRequest(bundle: TensorBundle(decoding: Self.chained()))
        #expect(decoded.returnsOutputs == false && decoded.chain.map(\.node) == ["n2", "n3"])
        #expect(decoded.chain[0].arguments == [.init(value: "n1", tensor: "y"), .init(value: "img", tensor: "x")])
        var bundle = try TensorBundle(decoding: Self.chained())
        bundle.metadata[BundleMetadataKey.chain] = "[{\"node\": \"n2\"}]"
        #expect(throws: MessageError.self) { try InvokeRequest(bundle: bundle) }
        bundle.metadata[BundleMetadataKey.chain] = "[{\"node\":\"n1\",\"module\":\"a\",\"attempt\":1,\"returnsOutputs\":true,\"arguments\":[]}]"
        #expect(throws: MessageError.self, "the invocation's own node twice") { try InvokeRequest(bundle: bundle) }
    }
}
