import Aggregator
import Foundation
import S2M3Core
import Testing

/// Admission control without I/O: how many requests the state machine takes, what the rest are
/// answered, and that a request whose replicas stay busy is not sent again in a loop.
@Suite("Aggregator admission")
struct AdmissionTests {
    static func machine(_ adjust: (inout AggregatorConfiguration) -> Void = { _ in }) throws -> AggregatorStateMachine {
        var configuration = AggregatorFixture.configuration()
        adjust(&configuration)
        var machine = try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        return machine
    }

    static let bundleType = MessageProperties(contentType: TensorBundle.contentType)

    static func classify(_ id: String, timeoutMs: Int = 5_000) -> [UInt8] {
        try! TaskRequest(requestID: id, inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)], timeoutMs: timeoutMs)
            .bundle().encoded()
    }

    static func match(_ id: String) -> [UInt8] { AggregatorStateMachineTests.matchRequest(id: id, timeoutMs: 5_000) }

    /// Sends `count` requests of `task`; returns the errors answered at once.
    static func offer(
        _ machine: inout AggregatorStateMachine, task: String, count: Int, prefix: String, nowMs: Double = 1
    ) -> [TaskErrorMessage] {
        var errors: [TaskErrorMessage] = []
        for index in 0..<count {
            let id = "\(prefix)-\(index)"
            let payload = task == "classify-image" ? classify(id) : match(id)
            // A refusal comes before the payload is read: its id is the correlation data's.
            var properties = bundleType
            properties.correlationData = Array(id.utf8)
            for action in machine.receiveRequest(task: task, payload: payload, properties: properties, retained: false, nowMs: nowMs) {
                if case .error(let error, _, _) = action { errors.append(error) }
            }
        }
        return errors
    }

    static func telemetry(_ device: String, capacity: Int) -> DeviceTelemetry {
        DeviceTelemetry(
            device: device, timestampMs: 1, queueDepth: 0, queueCapacity: capacity, residentMemoryBytes: 1,
            loadedModules: [], modules: [:])
    }

    /// The per-task limit comes from the plan: the queue capacity of the task's replicas (one
    /// device, 16 assumed before telemetry); the request past it is answered `overloaded` at once
    /// with a retry hint, and nothing is sent for it.
    @Test func derivesTheTaskLimitFromThePlanAndRefusesTheRestAtOnce() throws {
        var machine = try Self.machine()
        #expect(machine.admissionCapacity(of: "classify-image")?.perTask == 16)
        let errors = Self.offer(&machine, task: "classify-image", count: 20, prefix: "c")
        #expect(machine.activeRequests == 16)
        #expect(machine.inFlightByTask["classify-image"] == 16)
        #expect(errors.count == 4)
        #expect(errors.allSatisfy { $0.code == .overloaded && ($0.retryAfterMs ?? 0) >= 10 })
        #expect(errors.first?.reason.contains("limit 16") == true, "\(errors.first?.reason ?? "")")
        #expect(errors.map(\.requestID) == ["c-16", "c-17", "c-18", "c-19"])
        #expect(machine.statistics.rejected[.taskLimit] == 4)
        let invocations = machine.statistics.invocations
        // A device reports a smaller queue: the limit follows.
        machine.receiveTelemetry(Self.telemetry("box-a", capacity: 4), nowMs: 2)
        #expect(machine.admissionCapacity(of: "classify-image")?.perTask == 4)
        #expect(Self.offer(&machine, task: "classify-image", count: 1, prefix: "d").first?.code == .overloaded)
        #expect(machine.statistics.invocations == invocations)
    }

    /// A slow module holds the limit to what the replicas work off in half the default deadline:
    /// 1 s for the trunk plus 20 ms (unmeasured) for each of the 3 other modules on the one
    /// replica, 10 s deadline → 4 in flight (not the queue's 16); the retry hint is the time to
    /// work those off (4 × 1,060 ms).
    @Test func aSlowModuleLowersTheLimitToTheDeadline() throws {
        var machine = try Self.machine()
        machine.receiveTelemetry(DeviceTelemetry(
            device: "box-a", timestampMs: 1, queueDepth: 0, queueCapacity: 16, residentMemoryBytes: 1,
            loadedModules: [], modules: ["effnet-lite0-trunk": .init(p50Ms: 1_000, count: 10)]), nowMs: 1)
        #expect(machine.admissionCapacity(of: "classify-image")?.perTask == 4)
        let errors = Self.offer(&machine, task: "classify-image", count: 6, prefix: "s")
        #expect(errors.count == 2)
        #expect(errors.first?.retryAfterMs == 4_240, "\(errors)")
    }

    /// A request that ends frees its place: the next one is taken.
    @Test func anEndedRequestFreesItsPlace() throws {
        var machine = try Self.machine { $0.admission.maxInFlightPerTask["classify-image"] = 2 }
        var payload = Self.classify("short", timeoutMs: 50)
        _ = machine.receiveRequest(task: "classify-image", payload: payload, properties: Self.bundleType, retained: false, nowMs: 1)
        #expect(Self.offer(&machine, task: "classify-image", count: 2, prefix: "x").count == 1)
        _ = machine.tick(nowMs: 100)  // "short" passes its deadline
        #expect(machine.activeRequests == 1)
        payload = Self.classify("next")
        let actions = machine.receiveRequest(task: "classify-image", payload: payload, properties: Self.bundleType, retained: false, nowMs: 101)
        #expect(!actions.contains { if case .error = $0 { true } else { false } })
        #expect(machine.activeRequests == 2)
    }

    /// With a total limit and a priority task, the other tasks fill only 75 % of it; the priority
    /// task still gets in.
    @Test func priorityTasksKeepAReserve() throws {
        var machine = try Self.machine {
            $0.admission.maxInFlight = 8
            $0.admission.priorityTasks = ["match-image-text"]
        }
        let refused = Self.offer(&machine, task: "classify-image", count: 8, prefix: "c")
        #expect(refused.count == 2)
        #expect(refused.first?.reason.contains("held for priority tasks") == true, "\(refused.first?.reason ?? "")")
        #expect(machine.statistics.rejected[.totalLimit] == 2)
        #expect(Self.offer(&machine, task: "match-image-text", count: 3, prefix: "m").count == 1)
        #expect(machine.activeRequests == 8)
    }

    /// Admission off (the baseline): every well-formed request is taken.
    @Test func admissionOffTakesEverything() throws {
        var machine = try Self.machine { $0.admission.enabled = false }
        #expect(Self.offer(&machine, task: "classify-image", count: 40, prefix: "c").isEmpty)
        #expect(machine.activeRequests == 40)
    }

    /// Bad limits are named.
    @Test func badLimitsAreRefused() {
        var admission = AdmissionConfiguration()
        admission.maxInFlight = 0
        #expect(throws: MessageError.self) { try admission.validate() }
        admission.maxInFlight = nil
        admission.priorityReserve = 1
        #expect(throws: MessageError.self) { try admission.validate() }
    }

    /// The retry hint rides in the error's JSON and as a user property, and survives a round trip.
    @Test func retryAfterIsPublished() throws {
        let error = TaskErrorMessage(requestID: "r", task: "classify-image", code: .overloaded, reason: "full", timestampMs: 1, retryAfterMs: 250)
        let decoded = try TaskErrorMessage(json: try error.jsonBytes())
        #expect(decoded.retryAfterMs == 250)
        #expect(error.properties(correlationData: nil, traceparent: nil).userProperty(MessageProperties.retryAfterName) == "250")
        var bad = error
        bad.retryAfterMs = -1
        #expect(throws: MessageError.self) { try bad.validate() }
        #expect(bad.publishable().retryAfterMs == 0)
    }
}

@Suite("Request execution: busy back-off")
struct BusyBackoffTests {
    /// A replica whose reported queue is full of this aggregator's invocations is not sent more:
    /// the node waits in the aggregator (no tensor sent) until an answer frees a place.
    @Test func aFullReplicaIsNotSentMoreUntilAnAnswerFreesAPlace() throws {
        var router = ReplicaChooser()
        router.apply(plan: AggregatorFixture.plan(epoch: 1, [:]))
        router.apply(telemetry: AdmissionTests.telemetry("box-a", capacity: 1), nowMs: 0)
        let binding = AggregatorFixture.binding("classify-image")
        let inputs = try binding.inputValues(
            TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)]).bundle())
        func make(_ id: String) -> RequestExecution {
            RequestExecution(
                requestID: id, binding: binding, inputs: inputs, settings: AggregatorFixture.settings(), receivedAtMs: 0, deadlineMs: 60_000)
        }
        var first = make("r-1"), second = make("r-2")
        let sent = first.start(router: &router, nowMs: 0).invocations
        #expect(sent.count == 1)
        #expect(second.start(router: &router, nowMs: 0).isEmpty, "box-a's one place is taken")
        #expect(second.tick(router: &router, nowMs: 50).isEmpty)
        // The first request's next nodes take each freed place until it completes.
        var pending = sent
        var now = 60.0
        while let invocation = pending.first {
            let (partial, bundle) = AggregatorFixture.answer(invocation)
            pending = first.receive(partial, outputs: bundle, router: &router, nowMs: now).invocations
            #expect(pending.count <= 1)
            now += 10
            if !pending.isEmpty { #expect(second.tick(router: &router, nowMs: now).isEmpty) }
        }
        #expect(first.isFinished)
        #expect(second.tick(router: &router, nowMs: now + 10).invocations.count == 1)
    }

    /// One replica answering `busy` every time: the invocation is sent at most `maxBusyRetries + 1`
    /// times, each wait twice the one before, then the request is answered `overloaded` well
    /// before its deadline.
    @Test func busyIsRetriedABoundedNumberOfTimesWithGrowingWaits() throws {
        var router = ReplicaChooser()
        router.apply(plan: AggregatorFixture.plan(epoch: 1, [:]))
        var settings = AggregatorFixture.settings()
        settings.maxBusyRetries = 4
        var execution = RequestExecution(
            requestID: "req-1", binding: AggregatorFixture.binding("classify-image"),
            inputs: try AggregatorFixture.binding("classify-image").inputValues(
                TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)]).bundle()),
            settings: settings, receivedAtMs: 0, deadlineMs: 60_000)
        var pending = execution.start(router: &router, nowMs: 0).invocations
        var sendTimes: [Double] = [0]
        var now = 0.0
        var ending: RequestExecution.Action?
        while now < 10_000, ending == nil {
            for invocation in pending {
                let (partial, bundle) = AggregatorFixture.answer(invocation, status: .busy)
                let actions = execution.receive(partial, outputs: bundle, router: &router, nowMs: now)
                ending = ending ?? actions.first { if case .fail = $0 { true } else { false } }
            }
            now += 5
            let actions = execution.tick(router: &router, nowMs: now)
            pending = actions.invocations
            if !pending.isEmpty { sendTimes.append(now) }
            ending = ending ?? actions.first { if case .fail = $0 { true } else { false } }
        }
        guard case .fail(let code, _, _) = try #require(ending) else { return }
        #expect(code == .overloaded)
        #expect(sendTimes.count == 5, "\(sendTimes)")
        let waits = zip(sendTimes.dropFirst(), sendTimes).map { $0 - $1 }
        #expect(zip(waits.dropFirst(), waits).allSatisfy { $0 > $1 }, "\(waits)")
        #expect(now < 2_000)
        #expect(router.outstanding.isEmpty)
    }
}
