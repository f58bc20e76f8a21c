import DeviceAgent
import Runtime
import S2M3Core
import Testing

/// The device agent's decisions, fed events directly (no broker, no models, no clock).
@Suite("Device agent state machine")
struct DeviceAgentStateMachineTests {
    typealias Machine = DeviceAgentStateMachine
    static let topics = Topics(root: "t/v1")
    /// `a2` has `a`'s digest: the same module under another id.
    static let catalog: [(id: String, digest: String, sharedID: String)] = [
        ("a", "sha256:aa", "a"), ("b", "sha256:bb", "b"), ("c", "sha256:cc", "c"), ("a2", "sha256:aa", "a"),
    ]

    static func machine(queueCapacity: Int = 2, threads: Int = 1) -> Machine {
        Machine(
            configuration: DeviceAgentConfiguration(
                device: "box-1", session: "s1", memoryBudgetBytes: 100, queueCapacity: queueCapacity, inferenceThreads: threads,
                computeGflops: 2, topics: topics),
            modules: catalog, cores: 4)
    }

    static func assign(_ machine: inout Machine, _ epoch: Int, _ modules: [(String, Int)], nowMs: Double = 1) throws -> [DeviceAgentAction] {
        let digests = Dictionary(catalog.map { ($0.id, $0.digest) }, uniquingKeysWith: { a, _ in a })
        let assignment = DeviceAssignment(
            epoch: epoch, device: "box-1",
            modules: modules.map { .init(module: $0.0, digest: digests[$0.0] ?? "sha256:00", memoryBytes: $0.1) }, timestampMs: 1)
        return machine.receive(topic: topics.deviceAssignment("box-1"), payload: try assignment.jsonBytes(), properties: .init(), nowMs: nowMs)
    }

    /// Assigns `modules` and completes every load (each takes input `x`).
    static func host(_ machine: inout Machine, _ epoch: Int, _ modules: [(String, Int)]) throws {
        var actions = try assign(&machine, epoch, modules)
        while let load = loads(actions).first {
            actions = machine.loadFinished(load, callInputs: .success(["x"]))
        }
    }

    static func invoke(
        _ machine: inout Machine, module: String, topicModule: String? = nil, request: String, attempt: Int = 1,
        deadlineMs: Int = 10_000, inputs: [String] = ["x"], replyTo: String = "agg-1", nowMs: Double
    ) throws -> [DeviceAgentAction] {
        let invoke = InvokeRequest(
            requestID: request, task: "t", node: "n", module: module, epoch: 1, attempt: attempt, replyTo: replyTo, deadlineMs: deadlineMs)
        var bundle = TensorBundle()
        for name in inputs { try bundle.set(BundleTensor(floats: [1, 2]), named: name) }
        let payload = try invoke.bundle(inputs: bundle).encoded()
        let topic = topics.moduleInvoke(module: topicModule ?? module, device: "box-1")
        return machine.receive(topic: topic, payload: payload, properties: .init(), nowMs: nowMs)
    }

    static func loads(_ actions: [DeviceAgentAction]) -> [String] {
        actions.compactMap { if case .load(let module) = $0 { module.module } else { nil } }
    }
    static func subscribed(_ actions: [DeviceAgentAction]) -> [String] {
        actions.compactMap { if case .subscribe(let topic) = $0 { topic } else { nil } }
    }
    static func unsubscribed(_ actions: [DeviceAgentAction]) -> [String] {
        actions.compactMap { if case .unsubscribe(let topic) = $0 { topic } else { nil } }
    }
    static func unloaded(_ actions: [DeviceAgentAction]) -> [String] {
        actions.compactMap { if case .unload(let id) = $0 { id } else { nil } }
    }
    static func runs(_ actions: [DeviceAgentAction]) -> [DeviceAgentAction.Run] {
        actions.compactMap { if case .run(let run) = $0 { run } else { nil } }
    }
    static func cancels(_ actions: [DeviceAgentAction]) -> [UInt64] {
        actions.compactMap { if case .cancel(let ticket) = $0 { ticket } else { nil } }
    }
    static func answers(_ actions: [DeviceAgentAction]) -> [DeviceAgentAction.Answer] {
        actions.compactMap { if case .publish(.answer(let answer)) = $0 { answer } else { nil } }
    }
    static func states(_ actions: [DeviceAgentAction]) -> [DeviceState] {
        actions.compactMap { if case .publish(.state(let state)) = $0 { state } else { nil } }
    }
    static func counts(_ actions: [DeviceAgentAction]) -> [DeviceAgentAction.Count] {
        actions.compactMap { if case .count(let count) = $0 { count } else { nil } }
    }
    static func telemetryPublished(_ actions: [DeviceAgentAction]) -> Int {
        actions.filter { if case .publishTelemetry = $0 { true } else { false } }.count
    }
    static func invokeTopic(_ module: String) -> String { topics.moduleInvoke(module: module, device: "box-1") }

    // MARK: Presence

    @Test func startAnnouncesAndSubscribes() throws {
        let machine = Self.machine()
        let actions = machine.start(nowMs: 1_234.9)
        guard case .publish(.capabilities(let capabilities)) = actions.first else { Issue.record("\(actions)"); return }
        #expect(capabilities.device == "box-1" && capabilities.session == "s1" && capabilities.cores == 4)
        #expect(capabilities.memoryBudgetBytes == 100 && capabilities.computeGflops == 2 && capabilities.timestampMs == 1_234)
        #expect(Self.states(actions).map(\.status) == [.online])
        #expect(Self.subscribed(actions) == [Self.topics.deviceState("box-1"), Self.topics.deviceAssignment("box-1"), Self.topics.plan])
    }

    /// The agent's measured footprint is announced and counted: an assignment that fits the budget
    /// but not the budget less the footprint is refused and nothing loads.
    @Test func baseMemoryIsAnnouncedAndCountedAgainstTheBudget() throws {
        var configuration = DeviceAgentConfiguration(
            device: "box-1", session: "s1", memoryBudgetBytes: 100, computeGflops: 2, topics: Self.topics)
        configuration.baseMemoryBytes = 45
        try configuration.validate()
        var machine = Machine(configuration: configuration, modules: Self.catalog, cores: 4)
        guard case .publish(.capabilities(let capabilities)) = machine.start(nowMs: 1).first else { Issue.record("no capabilities"); return }
        #expect(capabilities.baseMemoryBytes == 45 && capabilities.moduleMemoryBytes == 55)
        let refused = try Self.assign(&machine, 1, [("a", 30), ("b", 30)])
        #expect(Self.loads(refused).isEmpty)
        #expect(machine.telemetry(nowMs: 2, residentMemoryBytes: 0).assignment?.status == .refused)
        let accepted = try Self.assign(&machine, 2, [("a", 30), ("b", 25)])
        #expect(Self.loads(accepted) == ["a"])
    }

    @Test func aFootprintThatFillsTheBudgetIsASettingError() {
        var configuration = DeviceAgentConfiguration(
            device: "box-1", session: "s1", memoryBudgetBytes: 100_000_000, computeGflops: 2, topics: Self.topics)
        configuration.baseMemoryBytes = 100_000_000
        #expect(throws: DeviceAgentError.self) { try configuration.validate() }
        do { try configuration.validate() } catch { #expect(error.message.contains("larger --memory")) }
        configuration.baseMemoryBytes = -1
        #expect(throws: DeviceAgentError.self) { try configuration.validate() }
    }

    @Test func reannouncesWhenAWillOrOwnOfflineLands() throws {
        var machine = Self.machine()
        func state(_ status: DeviceState.Status, session: String) throws -> [DeviceAgentAction] {
            let state = DeviceState(device: "box-1", status: status, session: session, timestampMs: 1, reason: status == .offline ? "last-will" : nil)
            return machine.receive(topic: Self.topics.deviceState("box-1"), payload: try state.jsonBytes(), properties: .init(), nowMs: 5)
        }
        #expect(Self.states(try state(.offline, session: "old")).map(\.status) == [.online])
        #expect(Self.states(try state(.offline, session: "s1")).map(\.status) == [.online])
        #expect(Self.states(try state(.online, session: "s1")).isEmpty)
        #expect(Self.states(try state(.online, session: "other")).isEmpty)  // logged: another agent claims the id
        #expect(Self.states(machine.reconnected(nowMs: 6)).map(\.status) == [.online])
    }

    // MARK: Assignments

    @Test func appliesAnAssignmentLoadingOneModuleAtATime() throws {
        var machine = Self.machine()
        let first = try Self.assign(&machine, 1, [("a", 40), ("b", 30)])
        #expect(Self.loads(first) == ["a"])
        #expect(Self.telemetryPublished(first) == 1)  // reports `loading`
        #expect(machine.telemetry(nowMs: 2, residentMemoryBytes: 0).assignment == .init(epoch: 1, status: .loading))
        #expect(!machine.isIdle)
        let afterA = machine.loadFinished("a", callInputs: .success(["x"]))
        // The alias a2 has a's digest: both invoke topics answer.
        #expect(Self.subscribed(afterA) == [Self.invokeTopic("a"), Self.invokeTopic("a2")])
        #expect(Self.loads(afterA) == ["b"])
        let afterB = machine.loadFinished("b", callInputs: .success(["x"]))
        #expect(Self.subscribed(afterB) == [Self.invokeTopic("b")])
        #expect(Self.counts(afterB) == [.hosting(usedBytes: 70, appliedEpoch: 1)])
        #expect(Self.telemetryPublished(afterB) == 1)
        #expect(machine.loadedModules == ["a", "b"])
        #expect(machine.hosting.report == .init(epoch: 1, status: .applied))
        #expect(machine.isIdle)
    }

    @Test func reappliedAssignmentChangesNothingAndAnOlderOneIsIgnored() throws {
        var machine = Self.machine()
        try Self.host(&machine, 2, [("a", 40)])
        let again = try Self.assign(&machine, 2, [("a", 40)])
        #expect(Self.loads(again).isEmpty && Self.unloaded(again).isEmpty && Self.subscribed(again).isEmpty)
        #expect(machine.hosting.report == .init(epoch: 2, status: .applied))
        let older = try Self.assign(&machine, 1, [("b", 10)])
        #expect(Self.loads(older).isEmpty && Self.unloaded(older).isEmpty)
        #expect(machine.loadedModules == ["a"])
    }

    @Test func newestAssignmentWaitsWhileOneIsLoadingAndSupersedesTheOnesBetween() throws {
        var machine = Self.machine()
        #expect(Self.loads(try Self.assign(&machine, 1, [("a", 40)])) == ["a"])
        // Two more arrive while `a` loads: nothing starts; only the newest will be applied.
        #expect(try Self.assign(&machine, 2, [("b", 30)]).isEmpty)
        #expect(try Self.assign(&machine, 3, [("c", 50)]).isEmpty)
        let afterA = machine.loadFinished("a", callInputs: .success(["x"]))
        #expect(Self.loads(afterA) == ["c"])  // epoch 2 skipped; 40 + 50 fit: load before unloading
        #expect(Self.unloaded(afterA).isEmpty)
        let afterC = machine.loadFinished("c", callInputs: .success(["x"]))
        #expect(Self.unsubscribed(afterC) == [Self.invokeTopic("a"), Self.invokeTopic("a2")])
        #expect(Self.unloaded(afterC) == ["a"])
        #expect(machine.loadedModules == ["c"])
        #expect(machine.hosting.report == .init(epoch: 3, status: .applied))
        #expect(machine.isIdle)
    }

    @Test func failedLoadRollsBackAndIsReported() throws {
        var machine = Self.machine()
        _ = try Self.assign(&machine, 1, [("a", 40), ("b", 30)])
        _ = machine.loadFinished("a", callInputs: .success(["x"]))
        let failed = machine.loadFinished("b", callInputs: .failure(.init("missingFile: no weights")))
        #expect(Self.unloaded(failed) == ["a"])
        #expect(Self.unsubscribed(failed) == [Self.invokeTopic("a"), Self.invokeTopic("a2")])
        #expect(machine.loadedModules.isEmpty)
        let report = try #require(machine.hosting.report)
        #expect(report.status == .refused)
        #expect(report.reason?.contains("loading module 'b' failed: missingFile: no weights") == true)
        // A completion for a load nobody asked for changes nothing.
        #expect(machine.loadFinished("c", callInputs: .success(["x"])).isEmpty)
    }

    @Test func overBudgetAssignmentIsRefusedAndClearingUnloadsAll() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40)])
        let refused = try Self.assign(&machine, 2, [("b", 90), ("c", 20)])
        #expect(Self.loads(refused).isEmpty && Self.telemetryPublished(refused) == 1)
        #expect(machine.hosting.report?.status == .refused)
        #expect(machine.loadedModules == ["a"])
        let cleared = machine.receive(topic: Self.topics.deviceAssignment("box-1"), payload: [], properties: .init(), nowMs: 3)
        #expect(Self.unloaded(cleared) == ["a"])
        #expect(machine.loadedModules.isEmpty)
    }

    // MARK: Invocations

    @Test func admitsUpToCapacityThenAnswersBusy() throws {
        var machine = Self.machine(queueCapacity: 2, threads: 1)
        try Self.host(&machine, 1, [("a", 40)])
        let first = try Self.invoke(&machine, module: "a", request: "r1", nowMs: 100)
        let run = try #require(Self.runs(first).first)
        #expect(run.module == "a" && run.deadlineMs == 10_000 && run.inputs["x"] != nil)
        #expect(try Self.invoke(&machine, module: "a", request: "r2", nowMs: 101).isEmpty)  // waits
        let third = try Self.invoke(&machine, module: "a", request: "r3", nowMs: 102)
        let busy = try #require(Self.answers(third).first)
        #expect(busy.partial.status == .busy && busy.partial.requestID == "r3")
        #expect(busy.partial.error?.contains("queue full (2 waiting or running)") == true)
        #expect(busy.topic == Self.topics.aggregatorPartials("agg-1", device: "box-1"))
        #expect(Self.counts(third) == [.refused(.busy)])
        #expect(machine.queueDepth == 2)
        // The first finishes: answered ok with its times, and the second starts.
        let done = machine.runFinished(run.ticket, .finished(.success(TensorBundle())), computeMs: 7.5, nowMs: 110)
        #expect(Self.runs(done).count == 1)
        let answer = try #require(Self.answers(done).first)
        #expect(answer.partial.status == .ok && answer.partial.requestID == "r1" && answer.partial.computeMs == 7.5)
        #expect(answer.partial.receivedAtMs == 100 && answer.partial.startedAtMs == 100 && answer.partial.finishedAtMs == 110)
        #expect(Self.counts(done) == [.invoked(module: "a", ok: true, computeMs: 7.5)])
    }

    @Test func repeatedInvocationIsAnsweredOnce() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40)])
        #expect(Self.runs(try Self.invoke(&machine, module: "a", request: "r1", nowMs: 100)).count == 1)
        let again = try Self.invoke(&machine, module: "a", request: "r1", nowMs: 101)
        #expect(Self.runs(again).isEmpty && Self.answers(again).isEmpty)
        #expect(Self.counts(again) == [.duplicate])
        // Another attempt of the same node is new work.
        #expect(Self.runs(try Self.invoke(&machine, module: "a", request: "r1", attempt: 2, nowMs: 102)).isEmpty)
        #expect(machine.queueDepth == 2)
    }

    @Test func runPastItsDeadlineIsCancelledAndAnsweredDeadlineExceeded() throws {
        var machine = Self.machine(queueCapacity: 3)
        try Self.host(&machine, 1, [("a", 40)])
        let run = try #require(Self.runs(try Self.invoke(&machine, module: "a", request: "r1", deadlineMs: 1_000, nowMs: 500)).first)
        _ = try Self.invoke(&machine, module: "a", request: "r2", deadlineMs: 800, nowMs: 510)  // waits
        _ = try Self.invoke(&machine, module: "a", request: "r3", deadlineMs: 5_000, nowMs: 520)  // waits
        #expect(machine.tick(nowMs: 999).isEmpty)
        #expect(Self.cancels(machine.tick(nowMs: 1_000)) == [run.ticket])
        #expect(machine.tick(nowMs: 1_050).isEmpty)  // cancelled once
        #expect(machine.queueDepth == 3)  // the slot is freed only when the run has stopped
        let stopped = machine.runFinished(run.ticket, .stopped, computeMs: 560, nowMs: 1_060)
        let answers = Self.answers(stopped)
        #expect(answers.map(\.partial.requestID) == ["r2", "r1"])
        #expect(answers.allSatisfy { $0.partial.status == .error })
        // r1 ran past its deadline; r2's deadline passed while it waited: not run at all.
        #expect(answers[1].partial.error?.hasPrefix("deadline-exceeded: the deadline 1000 passed 60 ms ago while module 'a' ran") == true)
        #expect(answers[0].partial.error?.hasPrefix("deadline-exceeded: the deadline 800 passed while the invocation waited 550 ms") == true)
        #expect(answers[0].partial.queueWaitMs == 550 && answers[0].partial.computeMs == 0)
        #expect(Self.runs(stopped).count == 1)  // r3 starts
        #expect(machine.queueDepth == 1)
        // A run that finished after its cancel still answers deadline-exceeded.
        let third = try #require(Self.runs(stopped).first)
        _ = machine.tick(nowMs: 5_000)
        let late = machine.runFinished(third.ticket, .finished(.success(TensorBundle())), computeMs: 1, nowMs: 5_001)
        #expect(Self.answers(late).first?.partial.error?.hasPrefix("deadline-exceeded") == true)
        #expect(machine.queueDepth == 0)
    }

    @Test func invocationArrivingAfterItsDeadlineIsRefused() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40)])
        let late = try Self.invoke(&machine, module: "a", request: "r1", deadlineMs: 400, nowMs: 500)
        #expect(Self.runs(late).isEmpty)
        #expect(Self.answers(late).first?.partial.error == "deadline-exceeded: the deadline 400 passed 100 ms before the invocation arrived")
        #expect(Self.counts(late) == [.refused(.deadlineExceeded)])
    }

    @Test func unknownOrStillLoadingModuleIsNotLoaded() throws {
        var machine = Self.machine()
        let unknown = try Self.invoke(&machine, module: "zzz", request: "r1", nowMs: 100)
        #expect(Self.answers(unknown).first?.partial.error?.hasPrefix("not-loaded: module 'zzz' is not loaded on device 'box-1'") == true)
        #expect(Self.counts(unknown) == [.refused(.notLoaded)])
        _ = try Self.assign(&machine, 1, [("a", 40)])  // `a` is loading
        let loading = try Self.invoke(&machine, module: "a", request: "r2", nowMs: 101)
        #expect(Self.answers(loading).first?.partial.error?.hasPrefix("not-loaded: module 'a'") == true)
        #expect(Self.runs(loading).isEmpty)
        _ = machine.loadFinished("a", callInputs: .success(["x"]))
        // Loaded now; the alias a2 runs on a's instance.
        let alias = try #require(Self.runs(try Self.invoke(&machine, module: "a2", request: "r3", nowMs: 102)).first)
        #expect(alias.module == "a")
    }

    @Test func badInvocationsAreAnsweredWithAReason() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40), ("b", 30)])
        let wrongTopic = try Self.invoke(&machine, module: "a", topicModule: "b", request: "r1", nowMs: 100)
        #expect(Self.answers(wrongTopic).first?.partial.error == "the invocation names module 'a' but came on the topic of 'b'")
        let missing = try Self.invoke(&machine, module: "a", request: "r2", inputs: ["y"], nowMs: 101)
        #expect(Self.answers(missing).first?.partial.error?.hasPrefix("missing input 'x'") == true)
        #expect(Self.counts(missing) == [.refused(.badInvocation)])
        // Not a bundle, but the MQTT properties say who asked and where to answer.
        let properties = MessageProperties(responseTopic: "t/v1/aggregators/agg-9/partials/box-1", correlationData: Array("r3".utf8))
        let garbage = machine.receive(topic: Self.invokeTopic("a"), payload: [1, 2, 3], properties: properties, nowMs: 102)
        let answer = try #require(Self.answers(garbage).first)
        #expect(answer.topic == "t/v1/aggregators/agg-9/partials/box-1" && answer.partial.requestID == "r3")
        #expect(answer.partial.error?.hasPrefix("the invocation is not a tensor bundle") == true)
        // Nobody to answer: counted, not published.
        let anonymous = machine.receive(topic: Self.invokeTopic("a"), payload: [1, 2, 3], properties: .init(), nowMs: 103)
        #expect(Self.answers(anonymous).isEmpty && Self.counts(anonymous) == [.refused(.badInvocation)])
        #expect(machine.queueDepth == 0)
    }

    @Test func moduleFailureBlamingTheInputIsBadInput() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40)])
        let run = try #require(Self.runs(try Self.invoke(&machine, module: "a", request: "r1", nowMs: 100)).first)
        let failed = machine.runFinished(run.ticket, .finished(.failure(ModuleError(.badInput, module: "a", "not a JPEG"))), computeMs: 2, nowMs: 103)
        #expect(Self.answers(failed).first?.partial.error?.hasPrefix("bad-input: ") == true)
        #expect(Self.counts(failed) == [.invoked(module: "a", ok: false, computeMs: 2)])
        #expect(machine.telemetry(nowMs: 104, residentMemoryBytes: 0).modules.isEmpty)  // failures are not timed
    }

    // MARK: Telemetry and stopping

    @Test func telemetryReportsQueueModulesTimingsAndAssignment() throws {
        var machine = Self.machine(queueCapacity: 4)
        try Self.host(&machine, 3, [("a", 40)])
        for (index, computeMs) in [10.0, 30, 20].enumerated() {
            let run = try #require(Self.runs(try Self.invoke(&machine, module: "a", request: "r\(index)", nowMs: 100)).first)
            _ = machine.runFinished(run.ticket, .finished(.success(TensorBundle())), computeMs: computeMs, nowMs: 200)
        }
        #expect(machine.telemetry(nowMs: 300, residentMemoryBytes: 1).queuedBy == nil, "an empty queue has no senders")
        _ = try Self.invoke(&machine, module: "a", request: "running", nowMs: 300)
        _ = try Self.invoke(&machine, module: "a", request: "waiting", replyTo: "agg-2", nowMs: 300)
        let telemetry = machine.telemetry(nowMs: 1_500.7, residentMemoryBytes: 123, peakResidentMemoryBytes: 456)
        #expect(telemetry.device == "box-1" && telemetry.timestampMs == 1_500)
        #expect(telemetry.memoryBudgetBytes == 100 && telemetry.peakResidentMemoryBytes == 456)
        try telemetry.validate()
        #expect(telemetry.queueDepth == 2 && telemetry.queueCapacity == 4 && telemetry.residentMemoryBytes == 123)
        #expect(telemetry.queuedBy == ["agg-1": 1, "agg-2": 1], "the running and the waiting invocation, by sender")
        #expect(telemetry.loadedModules == ["a"])
        #expect(telemetry.modules["a"] == .init(p50Ms: 20, count: 3))
        #expect(telemetry.assignment == .init(epoch: 3, status: .applied))
        #expect(Self.telemetryPublished(machine.telemetryDue()) == 1)
    }

    @Test func loadUnderWayWhenStoppingFinishesQuietly() throws {
        var machine = Self.machine()
        _ = try Self.assign(&machine, 1, [("a", 40), ("b", 30)])
        _ = machine.stop()
        #expect(!machine.isIdle)  // shutdown waits for the application under way
        let afterA = machine.loadFinished("a", callInputs: .success(["x"]))
        #expect(Self.loads(afterA) == ["b"] && Self.telemetryPublished(afterA) == 0)
        let afterB = machine.loadFinished("b", callInputs: .success(["x"]))
        #expect(Self.telemetryPublished(afterB) == 0)  // no telemetry once stopping
        #expect(machine.isIdle && machine.hosting.report == .init(epoch: 1, status: .applied))
    }

    @Test func stoppingUnsubscribesAnswersBusyAndSaysOffline() throws {
        var machine = Self.machine()
        try Self.host(&machine, 1, [("a", 40)])
        let stop = machine.stop()
        #expect(Self.unsubscribed(stop) == [Self.invokeTopic("a"), Self.invokeTopic("a2")])
        #expect(machine.stop().isEmpty)
        let late = try Self.invoke(&machine, module: "a", request: "r1", nowMs: 100)
        #expect(Self.answers(late).first?.partial.status == .busy)
        #expect(Self.answers(late).first?.partial.error == "the device is shutting down")
        #expect(machine.telemetryDue().isEmpty && machine.reconnected(nowMs: 101).isEmpty)
        #expect(Self.loads(try Self.assign(&machine, 2, [("b", 30)])).isEmpty)  // no new assignment once stopping
        let offline = try #require(Self.states(machine.offline(nowMs: 102)).first)
        #expect(offline.status == .offline && offline.reason == DeviceState.shutdownReason && offline.session == "s1")
    }
}
