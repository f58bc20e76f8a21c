import Aggregator
import Catalog
import S2M3Core
import Testing

@Suite("Request execution")
struct RequestExecutionTests {
    /// match-image-text: the image branch's first module on box-a/box-c, the text branch's on box-b.
    static let placement: [String: [String]] = [
        "image-preprocess": ["box-a", "box-c"], "wordpiece-tokenize": ["box-b"], "minilm-l6": ["box-b"],
    ]

    static func make(sequential: Bool = false, deadline: Int = 10_000) -> (RequestExecution, ReplicaChooser) {
        var router = ReplicaChooser()
        router.apply(plan: AggregatorFixture.plan(epoch: 3, placement, rest: ["box-e"]))
        let execution = RequestExecution(
            requestID: "req-1", binding: AggregatorFixture.binding("match-image-text"), inputs: AggregatorFixture.matchInputs(),
            settings: AggregatorFixture.settings(sequential: sequential), receivedAtMs: 0, deadlineMs: deadline)
        return (execution, router)
    }

    /// Both branches go out at once, each stage follows its inputs, and the result has one timeline
    /// entry per invocation and the label-bridge's labels.
    @Test func dispatchesIndependentBranchesAtOnceAndCompletes() throws {
        var (execution, router) = Self.make()
        var pending = execution.start(router: &router, nowMs: 1).invocations
        #expect(Set(pending.map(\.request.node)) == ["pixels", "tokens"])
        #expect(pending.first { $0.request.node == "tokens" }?.device == "box-b")
        #expect(pending.allSatisfy { $0.request.epoch == 3 && $0.request.attempt == 1 && $0.request.replyTo == "agg-1" })
        #expect(router.outstanding.values.reduce(0, +) == 2)
        // The image file reaches image-preprocess as its call input `file`, marked as JPEG.
        let pixels = try #require(pending.first { $0.request.node == "pixels" })
        #expect(pixels.arguments.contentType(of: "file") == MediaType.jpeg)
        var result: TaskResult?
        var now = 2.0
        while let next = pending.first {
            pending.removeFirst()
            let (partial, bundle) = AggregatorFixture.answer(next)
            now += 1
            for action in execution.receive(partial, outputs: bundle, router: &router, nowMs: now) {
                if case .invoke(let invocation) = action { pending.append(invocation) }
                if case .complete(let done) = action { result = done }
            }
        }
        let done = try #require(result)
        #expect(done.timeline.count == 6)
        #expect(done.epoch == 3)
        #expect(done.outputs["scores"] == .labels([.init(label: "a cat", score: 0.75), .init(label: "a dog", score: 0.25)]))
        try done.validate()
        #expect(router.outstanding.isEmpty)
        #expect(execution.isFinished)
    }

    /// `--sequential`: one node at a time.
    @Test func sequentialModeSendsOneNodeAtATime() {
        var (execution, router) = Self.make(sequential: true)
        let first = execution.start(router: &router, nowMs: 1).invocations
        #expect(first.count == 1)
        let (partial, bundle) = AggregatorFixture.answer(first[0])
        let second = execution.receive(partial, outputs: bundle, router: &router, nowMs: 2).invocations
        #expect(second.count == 1)
        #expect(second[0].request.node != first[0].request.node)
    }

    /// A device going offline: its branch is retried (attempt 2) on the other replica; a repeated
    /// or late answer of attempt 1 is taken at most once.
    @Test func retriesOnAnotherReplicaWhenTheDeviceIsLost() {
        var (execution, router) = Self.make()
        let first = execution.start(router: &router, nowMs: 1).invocations
        let pixels = first.first { $0.request.node == "pixels" }!
        router.apply(state: DeviceState(device: pixels.device, status: .offline, session: "s", timestampMs: 5))
        let retry = execution.deviceLost(pixels.device, router: &router, nowMs: 5).invocations
        #expect(retry.count == 1)
        #expect(retry.first?.request.attempt == 2)
        #expect(retry.first?.device != pixels.device)
        let (partial, bundle) = AggregatorFixture.answer(retry[0])
        let step1 = execution.receive(partial, outputs: bundle, router: &router, nowMs: 6)
        #expect(step1.invocations.map(\.request.node) == ["trunk"])
        let step2 = execution.receive(partial, outputs: bundle, router: &router, nowMs: 7)
        #expect(step2.isEmpty)
        let (late, lateBundle) = AggregatorFixture.answer(pixels)
        let step3 = execution.receive(late, outputs: lateBundle, router: &router, nowMs: 8)
        #expect(step3.isEmpty)
    }

    /// No replica left: the branch waits for a newer plan, then goes to the device it names.
    @Test func waitsForANewPlanWhenNoReplicaIsLeft() {
        var (execution, router) = Self.make()
        let tokens = execution.start(router: &router, nowMs: 1).invocations.first { $0.request.node == "tokens" }!
        router.apply(state: DeviceState(device: "box-b", status: .offline, session: "s", timestampMs: 5))
        let step4 = execution.deviceLost("box-b", router: &router, nowMs: 5)
        #expect(step4.isEmpty)
        let step5 = execution.tick(router: &router, nowMs: 100)
        #expect(step5.isEmpty)
        router.apply(plan: AggregatorFixture.plan(epoch: 4, ["wordpiece-tokenize": ["box-d"]]))
        let resent = execution.planChanged(router: &router, nowMs: 110).invocations
        #expect(resent.map(\.device) == ["box-d"])
        #expect(resent.first?.request.attempt == tokens.request.attempt + 1)
        #expect(resent.first?.request.epoch == 4)
    }

    /// `busy` → the other replica; both busy → a short back-off, then again.
    @Test func busyGoesToAnotherReplicaThenBacksOff() {
        var (execution, router) = Self.make()
        let pixels = execution.start(router: &router, nowMs: 1).invocations.first { $0.request.node == "pixels" }!
        var (partial, bundle) = AggregatorFixture.answer(pixels, status: .busy)
        let other = execution.receive(partial, outputs: bundle, router: &router, nowMs: 2).invocations
        #expect(other.map(\.device) == [pixels.device == "box-a" ? "box-c" : "box-a"])
        (partial, bundle) = AggregatorFixture.answer(other[0], status: .busy)
        let step6 = execution.receive(partial, outputs: bundle, router: &router, nowMs: 3)
        #expect(step6.isEmpty)
        let step7 = execution.tick(router: &router, nowMs: 10)
        #expect(step7.isEmpty)
        let again = execution.tick(router: &router, nowMs: 30).invocations
        #expect(again.count == 1)
        #expect(again.first?.request.attempt == 3)
    }

    /// A silent device: after the invocation timeout the branch goes to another replica, or to the
    /// same one again when it is the only one.
    @Test func timesOutAnInvocationAndRetries() throws {
        var (execution, router) = Self.make()
        let started = execution.start(router: &router, nowMs: 1).invocations
        let pixels = started.first { $0.request.node == "pixels" }!
        let step8 = execution.tick(router: &router, nowMs: 1_000)
        #expect(step8.isEmpty)
        let retry = execution.tick(router: &router, nowMs: 2_100).invocations
        #expect(retry.map(\.request.node).contains("pixels"))
        #expect(retry.first { $0.request.node == "pixels" }?.device != pixels.device)
        // tokens has one replica: a slow one is asked again rather than waiting for a new plan.
        let tokens = try #require(retry.first { $0.request.node == "tokens" })
        #expect(tokens.device == "box-b")
        #expect(tokens.request.attempt == 2)
        // A late answer of the first attempt still completes the node.
        let first = execution.running.first { $0.node == "tokens" }
        #expect(first?.attempt == 2)
        let (late, lateBundle) = AggregatorFixture.answer(started.first { $0.request.node == "tokens" }!)
        let next = execution.receive(late, outputs: lateBundle, router: &router, nowMs: 2_200).invocations
        #expect(next.map(\.request.node) == ["embeddings"])
    }

    /// Past the deadline: deadline-exceeded, naming what was still missing.
    @Test func failsAtTheDeadline() throws {
        var (execution, router) = Self.make(deadline: 500)
        _ = execution.start(router: &router, nowMs: 1)
        let step9 = execution.tick(router: &router, nowMs: 499)
        #expect(step9.isEmpty)
        let actions = execution.tick(router: &router, nowMs: 500)
        guard case .fail(let code, let reason, _) = try #require(actions.first) else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(code == .deadlineExceeded)
        #expect(reason.contains("pixels"))
        #expect(router.outstanding.isEmpty)
    }

    /// A module error is retried on the other replica, then module-failed; an input error is bad-input.
    @Test func moduleErrorsAndInputErrors() throws {
        var (execution, router) = Self.make()
        let pixels = execution.start(router: &router, nowMs: 1).invocations.first { $0.request.node == "pixels" }!
        var (partial, bundle) = AggregatorFixture.answer(pixels, status: .error, error: "runFailed: out of memory")
        let retry = execution.receive(partial, outputs: bundle, router: &router, nowMs: 2).invocations
        #expect(retry.count == 1)
        (partial, bundle) = AggregatorFixture.answer(retry[0], status: .error, error: "runFailed: out of memory")
        let failed = execution.receive(partial, outputs: bundle, router: &router, nowMs: 3)
        guard case .fail(let code, let reason, _) = try #require(failed.first) else { Issue.record("no failure"); return }
        #expect(code == .moduleFailed)
        #expect(reason.contains("out of memory"))

        var (second, secondRouter) = Self.make()
        let pixels2 = second.start(router: &secondRouter, nowMs: 1).invocations.first { $0.request.node == "pixels" }!
        (partial, bundle) = AggregatorFixture.answer(pixels2, status: .error, error: "bad-input: the JPEG does not decode")
        let rejected = second.receive(partial, outputs: bundle, router: &secondRouter, nowMs: 2)
        guard case .fail(let inputCode, _, let field) = try #require(rejected.first) else { Issue.record("no failure"); return }
        #expect(inputCode == .badInput)
        #expect(field == "inputs.image")
    }
}

@Suite("Request execution: loading replicas")
struct RequestExecutionLoadingTests {
    /// A replica that answers `not-loaded` (its module is still loading after a re-plan) is tried
    /// again after a back-off instead of failing the request; telemetry without the module makes
    /// the chooser prefer a replica that has it.
    @Test func notLoadedIsRetriedAfterABackOff() throws {
        var (execution, router) = RequestExecutionTests.make()
        let tokens = execution.start(router: &router, nowMs: 1).invocations.first { $0.request.node == "tokens" }!
        let (partial, bundle) = AggregatorFixture.answer(tokens, status: .error, error: "not-loaded: wordpiece-tokenize is loading")
        let step1 = execution.receive(partial, outputs: bundle, router: &router, nowMs: 2)
        #expect(step1.isEmpty)
        let step2 = execution.tick(router: &router, nowMs: 50)
        #expect(step2.isEmpty)
        let again = execution.tick(router: &router, nowMs: 110).invocations
        #expect(again.map(\.device) == ["box-b"])
        #expect(again.first?.request.attempt == 2)

        router.apply(telemetry: DeviceTelemetry(
            device: "box-a", timestampMs: 5, queueDepth: 0, queueCapacity: 4, residentMemoryBytes: 1, loadedModules: [], modules: [:]))
        #expect(router.choose(module: "image-preprocess") == "box-c")
    }
}

@Suite("Request execution: overload")
struct RequestExecutionOverloadTests {
    /// Every replica answering busy until the deadline ends the request with `overloaded`.
    @Test func busyUntilTheDeadlineIsOverloaded() throws {
        var (execution, router) = RequestExecutionTests.make(deadline: 200)
        var pending = execution.start(router: &router, nowMs: 1).invocations.filter { $0.request.node == "tokens" }
        var now = 2.0
        var ending: RequestExecution.Action?
        while now < 300, ending == nil {
            for invocation in pending {
                let (partial, bundle) = AggregatorFixture.answer(invocation, status: .busy)
                _ = execution.receive(partial, outputs: bundle, router: &router, nowMs: now)
            }
            now += 10
            let actions = execution.tick(router: &router, nowMs: now)
            pending = actions.invocations.filter { $0.request.node == "tokens" }
            ending = actions.first { if case .fail = $0 { true } else { false } }
        }
        guard case .fail(let code, _, _) = try #require(ending) else { return }
        #expect(code == .overloaded)
    }
}
