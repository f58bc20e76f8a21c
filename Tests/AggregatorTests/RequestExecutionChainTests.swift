import Aggregator
import Catalog
import S2M3Core
import Testing

/// Co-located chains in the aggregator (topics.md, "Chains"): which nodes go in one invocation,
/// what comes back, and how a chain broken by a lost device or a failed step is run again.
@Suite("Request execution: co-located chains")
struct RequestExecutionChainTests {
    static func make(_ task: String, _ placement: [String: [String]], rest: [String], inputs: [String: TensorBundle])
        -> (RequestExecution, ReplicaChooser)
    {
        var router = ReplicaChooser()
        router.apply(plan: AggregatorFixture.plan(epoch: 1, placement, rest: rest))
        let execution = RequestExecution(
            requestID: "req-1", binding: AggregatorFixture.binding(task), inputs: inputs,
            settings: .init(aggregator: "agg-1"), receivedAtMs: 0, deadlineMs: 60_000)
        return (execution, router)
    }

    static func classifyInputs() throws -> [String: TensorBundle] {
        let request = TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)])
        return try AggregatorFixture.binding("classify-image").inputValues(request.bundle())
    }

    /// The device's answers to a chained invocation: one partial per node, in order, outputs only
    /// where asked for; `upTo` stops after that many.
    static func answers(_ invocation: RequestExecution.Invocation, upTo count: Int? = nil) -> [(PartialResult, TensorBundle)] {
        let request = invocation.request
        let all = [request] + request.chain.indices.map(request.step)
        return all.prefix(count ?? all.count).map { step in
            let partial = PartialResult(
                answering: step, device: invocation.device, status: .ok, error: nil, queueWaitMs: 0, computeMs: 2,
                receivedAtMs: 1, startedAtMs: 1, finishedAtMs: 3)
            return (partial, step.returnsOutputs ? AggregatorFixture.outputs(of: step.module) : TensorBundle())
        }
    }

    static func feed(
        _ execution: inout RequestExecution, _ router: inout ReplicaChooser, _ answers: [(PartialResult, TensorBundle)], nowMs: Double
    ) -> [RequestExecution.Action] {
        answers.flatMap { execution.receive($0.0, outputs: $0.1, router: &router, nowMs: nowMs) }
    }

    /// classify-image on one device: one invocation runs all four nodes; only `top` comes back.
    @Test func aTaskOnOneDeviceIsOneInvocation() throws {
        var (execution, router) = Self.make("classify-image", [:], rest: ["box-a"], inputs: try Self.classifyInputs())
        let sent = execution.start(router: &router, nowMs: 1).invocations
        let invocation = try #require(sent.first)
        #expect(sent.count == 1 && invocation.request.node == "pixels" && !invocation.request.returnsOutputs)
        #expect(invocation.request.chain.map(\.node) == ["trunk", "logits", "top"])
        #expect(invocation.request.chain.map(\.returnsOutputs) == [false, false, true])
        #expect(invocation.request.chain[0].arguments == [.init(value: "pixels", tensor: "image")])
        #expect(router.outstanding == ["box-a": 1], "a chain holds one place")
        let actions = Self.feed(&execution, &router, Self.answers(invocation), nowMs: 10)
        guard case .complete(let result) = try #require(actions.last) else { Issue.record("\(actions)"); return }
        #expect(result.timeline.map(\.node) == ["pixels", "trunk", "logits", "top"])
        #expect(result.timeline.map(\.chainedAfter) == [nil, "pixels", "trunk", "logits"])
        #expect(router.outstanding.isEmpty)
        try result.validate()
    }

    /// A node on another device ends the chain, and the node before it returns its outputs.
    @Test func aNodeElsewhereEndsTheChain() throws {
        var (execution, router) = Self.make(
            "classify-image", ["imagenet-head": ["box-b"]], rest: ["box-a"], inputs: try Self.classifyInputs())
        let invocation = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(invocation.request.chain.map(\.node) == ["trunk"])
        #expect(invocation.request.chain[0].returnsOutputs, "box-b's logits reads trunk")
        let next = Self.feed(&execution, &router, Self.answers(invocation), nowMs: 5).invocations
        #expect(next.map(\.device) == ["box-b"] && next.first?.request.chain.map(\.node) == [] && next.first?.request.node == "logits")
    }

    /// read-text's `crops` reads the request's image besides the chain's `detect`: the image goes
    /// along as `~image~image`.
    @Test func valuesAChainedNodeReadsGoAlong() throws {
        let request = TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)])
        let inputs = try AggregatorFixture.binding("read-text").inputValues(request.bundle())
        var (execution, router) = Self.make("read-text", [:], rest: ["box-a"], inputs: inputs)
        let invocation = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(invocation.request.chain.map(\.node) == ["detect", "crops", "orient", "recognise", "lines"])
        let sent = try invocation.arguments.tensor("~image~image")
        #expect(Array(sent.bytes) == AggregatorFixture.jpeg)
        #expect(invocation.arguments.contentType(of: "~image~image") == MediaType.jpeg)
    }

    /// The device dies after the first node's answer (its output stayed there): the chain is sent
    /// again from the first node to the replica, and the request is answered once.
    @Test func aDeviceLostMidChainIsRunAgainFromTheStart() throws {
        var (execution, router) = Self.make("classify-image", [:], rest: ["box-a", "box-b"], inputs: try Self.classifyInputs())
        let first = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(Self.feed(&execution, &router, Self.answers(first, upTo: 2), nowMs: 5).isEmpty)
        _ = router.apply(state: DeviceState(device: first.device, status: .offline, session: "s", timestampMs: 6, reason: "last-will"))
        let again = execution.deviceLost(first.device, router: &router, nowMs: 6).invocations
        let retry = try #require(again.first)
        #expect(again.count == 1 && retry.device != first.device && retry.request.node == "pixels" && retry.request.attempt == 2)
        #expect(retry.request.chain.map(\.node) == ["trunk", "logits", "top"])
        // A late answer of the dead chain's kept node is of no use and changes nothing.
        #expect(Self.feed(&execution, &router, [Self.answers(first)[2]], nowMs: 7).isEmpty)
        let actions = Self.feed(&execution, &router, Self.answers(retry), nowMs: 10)
        #expect(actions.filter { if case .complete = $0 { true } else { false } }.count == 1)
        #expect(router.outstanding.isEmpty)
    }

    /// A step fails on the device (not for its input): the chain is re-sent without that node on
    /// that device, so the node before it now returns its outputs and the failed node goes elsewhere.
    @Test func aFailedStepIsRetriedElsewhereAndItsInputRecomputed() throws {
        var (execution, router) = Self.make(
            "classify-image", ["imagenet-head": ["box-a", "box-b"]], rest: ["box-a"], inputs: try Self.classifyInputs())
        let first = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(first.device == "box-a" && first.request.chain.map(\.node) == ["trunk", "logits", "top"])
        var answers = Self.answers(first, upTo: 3)
        answers[2].0.status = .error
        answers[2].0.error = "run-failed: out of memory"
        let again = Self.feed(&execution, &router, answers, nowMs: 5).invocations
        let retry = try #require(again.first)
        #expect(again.count == 1 && retry.request.node == "pixels" && retry.request.chain.map(\.node) == ["trunk"])
        #expect(retry.request.chain.last?.returnsOutputs == true)
        let next = Self.feed(&execution, &router, Self.answers(retry), nowMs: 8).invocations
        let head = try #require(next.first)
        #expect(head.device == "box-b" && head.request.node == "logits" && head.request.attempt == 2)
        let last = Self.feed(&execution, &router, Self.answers(head), nowMs: 9)
        #expect(last.invocations.map(\.request.node) == ["top"])
        let done = Self.feed(&execution, &router, Self.answers(try #require(last.invocations.first)), nowMs: 10)
        #expect(done.filter { if case .complete = $0 { true } else { false } }.count == 1)
    }

    /// A busy device does not keep a node from an idle replica: the trunk is not chained onto
    /// box-a's queue of five when box-b has it idle, and goes there on its own.
    @Test func aBusyDevicesChainLeavesWorkToAnIdleReplica() throws {
        var (execution, router) = Self.make(
            "classify-image", ["image-preprocess": ["box-a"], "effnet-lite0-trunk": ["box-a", "box-b"]], rest: ["box-a"],
            inputs: try Self.classifyInputs())
        for (device, depth) in [("box-a", 5), ("box-b", 0)] {
            router.apply(telemetry: DeviceTelemetry(
                device: device, timestampMs: 1, queueDepth: depth, queueCapacity: 16, residentMemoryBytes: 1,
                loadedModules: ["image-preprocess", "effnet-lite0-trunk", "imagenet-head", "top-k"],
                modules: ["effnet-lite0-trunk": .init(p50Ms: 10, count: 10)]))
        }
        let first = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(first.device == "box-a" && first.request.chain.isEmpty && first.request.returnsOutputs)
        let next = Self.feed(&execution, &router, Self.answers(first), nowMs: 5).invocations
        #expect(next.first?.device == "box-b" && next.first?.request.node == "trunk")
        #expect(next.first?.request.chain.map(\.node) == [], "logits and top are on box-a only, where it is busy")
    }

    /// Without chains (`--no-chains`) every node is its own invocation.
    @Test func chainsOffSendsEveryNodeAlone() throws {
        var router = ReplicaChooser()
        router.apply(plan: AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a"]))
        var execution = RequestExecution(
            requestID: "req-1", binding: AggregatorFixture.binding("classify-image"), inputs: try Self.classifyInputs(),
            settings: AggregatorFixture.settings(), receivedAtMs: 0, deadlineMs: 60_000)
        let first = try #require(execution.start(router: &router, nowMs: 1).invocations.first)
        #expect(first.request.chain.isEmpty && first.request.returnsOutputs)
    }
}
