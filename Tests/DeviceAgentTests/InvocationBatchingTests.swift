import Catalog
import DeviceAgent
import Foundation
import Runtime
import S2M3Core
import TestSupport
import Testing

/// Dynamic batching (issue 14 item 2): invocations of one batchable module waiting together run as
/// one, and each gets its own rows of the outputs.
@Suite("Device agent batches waiting invocations")
struct InvocationBatchingTests {
    typealias Machine = DeviceAgentStateMachine
    typealias T = DeviceAgentStateMachineTests

    /// A machine with one worker hosting `a` (batchable or not), and `b` (not batchable).
    static func machine(maxBatch: Int = 8, waitMs: Double = 0, batchable: Bool = true) throws -> Machine {
        var configuration = DeviceAgentConfiguration(
            device: "box-1", session: "s1", memoryBudgetBytes: 100, queueCapacity: 16, inferenceThreads: 1, computeGflops: 2, topics: T.topics)
        configuration.maxBatch = maxBatch
        configuration.batchWaitMs = waitMs
        var machine = Machine(configuration: configuration, modules: T.catalog, cores: 1)
        var actions = try T.assign(&machine, 1, [("a", 10), ("b", 10)])
        while let load = T.loads(actions).first {
            actions = machine.loadFinished(load, callInputs: .success(["x"]), batchable: batchable && load == "a")
        }
        return machine
    }

    /// One row of 2 floats per invocation: `[i, i]` for request `r{i}`.
    static func invoke(_ machine: inout Machine, module: String = "a", _ index: Int, deadlineMs: Int = 10_000, nowMs: Double = 10) throws -> [DeviceAgentAction] {
        let invoke = InvokeRequest(
            requestID: "r\(index)", task: "t", node: "n", module: module, epoch: 1, attempt: 1, replyTo: "agg-1", deadlineMs: deadlineMs)
        var bundle = TensorBundle()
        try bundle.set(BundleTensor(floats: [Float(index), Float(index)], shape: [1, 2]), named: "x")
        return machine.receive(topic: T.invokeTopic(module), payload: try invoke.bundle(inputs: bundle).encoded(), properties: .init(), nowMs: nowMs)
    }

    static func answered(_ answers: [DeviceAgentAction.Answer]) -> [String: (PartialResult, [Float])] {
        Dictionary(uniqueKeysWithValues: answers.map { ($0.partial.requestID, ($0.partial, (try? $0.outputs["y"]?.floats()) ?? nil ?? [])) })
    }

    @Test func waitingInvocationsRunAsOneBatchAndEachGetsItsRows() throws {
        var machine = try Self.machine()
        let first = T.runs(try Self.invoke(&machine, 0))
        #expect(first.count == 1 && first[0].inputs["x"]?.shape == [1, 2])
        for index in 1...3 { #expect(T.runs(try Self.invoke(&machine, index)).isEmpty) }
        #expect(machine.queueDepth == 4)
        var output = try BundleTensor(floats: [0, 0], shape: [1, 2])
        var after = machine.runFinished(first[0].ticket, .finished(.success(try TensorBundle(tensors: ["y": output]))), computeMs: 5, nowMs: 20)
        let batch = try #require(T.runs(after).first)
        #expect(batch.inputs["x"]?.shape == [3, 2])
        let joined = try batch.inputs["x"]?.floats()
        #expect(joined == [1, 1, 2, 2, 3, 3])
        #expect(machine.queueDepth == 3, "the riders still count in the queue while they run")
        // The model doubles its input: each invocation must get its own row back.
        output = try BundleTensor(floats: [2, 2, 4, 4, 6, 6], shape: [3, 2])
        after = machine.runFinished(batch.ticket, .finished(.success(try TensorBundle(tensors: ["y": output]))), computeMs: 9, nowMs: 30)
        let answers = Self.answered(T.answers(after))
        #expect(answers.keys.sorted() == ["r1", "r2", "r3"])
        for index in 1...3 {
            let (partial, values) = try #require(answers["r\(index)"])
            #expect(partial.status == .ok && values == [Float(2 * index), Float(2 * index)], "r\(index): \(partial) \(values)")
        }
        #expect(machine.queueDepth == 0 && machine.isIdle)
        // Telemetry counts per invocation: the single run's 5 ms, then 3 × (9 ms ÷ 3).
        let timing = machine.telemetry(nowMs: 40, residentMemoryBytes: 1, peakResidentMemoryBytes: nil).modules["a"]
        #expect(timing == MeasuredTiming(p50Ms: 3, count: 4), "a batch of 3 in 9 ms costs each invocation 3 ms")
    }

    @Test func batchesKeepTheirLimitAndTheirModule() throws {
        var machine = try Self.machine(maxBatch: 2)
        let first = T.runs(try Self.invoke(&machine, 0))
        _ = try Self.invoke(&machine, 1)
        _ = try Self.invoke(&machine, module: "b", 2)
        _ = try Self.invoke(&machine, 3)
        _ = try Self.invoke(&machine, 4)
        let output = try TensorBundle(tensors: ["y": BundleTensor(floats: [0, 0], shape: [1, 2])])
        let next = try #require(T.runs(machine.runFinished(first[0].ticket, .finished(.success(output)), computeMs: 1, nowMs: 20)).first)
        let joined = try next.inputs["x"]?.floats()
        #expect(next.module == "a" && joined == [1, 1, 3, 3], "at most 2, of module a only, in arrival order")
        #expect(machine.queueDepth == 4)

        // Not batchable: one at a time.
        var single = try Self.machine(batchable: false)
        let lead = T.runs(try Self.invoke(&single, 0))
        _ = try Self.invoke(&single, 1)
        _ = try Self.invoke(&single, 2)
        let alone = try #require(T.runs(single.runFinished(lead[0].ticket, .finished(.success(output)), computeMs: 1, nowMs: 20)).first)
        #expect(alone.inputs["x"]?.shape == [1, 2])
    }

    @Test func outputsThatCannotBeSplitFailEveryMemberOutLoud() throws {
        var machine = try Self.machine()
        let first = T.runs(try Self.invoke(&machine, 0))
        _ = try Self.invoke(&machine, 1)
        _ = try Self.invoke(&machine, 2)
        let one = try TensorBundle(tensors: ["y": BundleTensor(floats: [0, 0], shape: [1, 2])])
        let batch = try #require(T.runs(machine.runFinished(first[0].ticket, .finished(.success(one)), computeMs: 1, nowMs: 20)).first)
        // A model that ignores the batch dimension answers one row for two invocations.
        let after = machine.runFinished(batch.ticket, .finished(.success(one)), computeMs: 1, nowMs: 30)
        let answers = T.answers(after)
        #expect(answers.map(\.partial.requestID).sorted() == ["r1", "r2"])
        #expect(answers.allSatisfy { $0.partial.status == .error && ($0.partial.error ?? "").contains("could not be split") })
        #expect(machine.isIdle)
    }

    @Test func aBatchStopsAtItsLastDeadlineAndLateMembersSaySo() throws {
        var machine = try Self.machine()
        let first = T.runs(try Self.invoke(&machine, 0))
        _ = try Self.invoke(&machine, 1, deadlineMs: 100)
        _ = try Self.invoke(&machine, 2, deadlineMs: 200)
        let one = try TensorBundle(tensors: ["y": BundleTensor(floats: [0, 0], shape: [1, 2])])
        let batch = try #require(T.runs(machine.runFinished(first[0].ticket, .finished(.success(one)), computeMs: 1, nowMs: 50)).first)
        #expect(batch.deadlineMs == 200)
        #expect(T.cancels(machine.tick(nowMs: 150)).isEmpty, "r2 still has time")
        let both = try TensorBundle(tensors: ["y": BundleTensor(floats: [1, 1, 2, 2], shape: [2, 2])])
        let answers = Self.answered(T.answers(machine.runFinished(batch.ticket, .finished(.success(both)), computeMs: 1, nowMs: 160)))
        #expect(answers["r1"]?.0.status == .error && (answers["r1"]?.0.error ?? "").hasPrefix("deadline-exceeded"))
        #expect(answers["r2"]?.0.status == .ok && answers["r2"]?.1 == [2, 2])
    }

    @Test func aFreeWorkerWaitsForABatchToGatherWhenToldTo() throws {
        var machine = try Self.machine(maxBatch: 3, waitMs: 2)
        let first = try Self.invoke(&machine, 0, nowMs: 10)
        #expect(T.runs(first).isEmpty)
        #expect(first.contains { if case .wake(let atMs) = $0 { atMs == 12 } else { false } })
        #expect(T.runs(try Self.invoke(&machine, module: "b", 1, nowMs: 10.5)).isEmpty, "b waits behind the held worker")
        #expect(T.runs(try Self.invoke(&machine, 2, nowMs: 11)).isEmpty)
        #expect(T.runs(machine.tick(nowMs: 11.5)).isEmpty, "not yet time")
        let gathered = try #require(T.runs(machine.tick(nowMs: 12)).first)
        let joined = try gathered.inputs["x"]?.floats()
        #expect(joined == [0, 0, 2, 2])

        // A batch that fills up starts at once.
        var full = try Self.machine(maxBatch: 3, waitMs: 50)
        _ = try Self.invoke(&full, 0, nowMs: 10)
        _ = try Self.invoke(&full, 1, nowMs: 11)
        let early = try #require(T.runs(try Self.invoke(&full, 2, nowMs: 12)).first)
        #expect(early.inputs["x"]?.shape == [3, 2])
        #expect(T.runs(full.tick(nowMs: 60)).isEmpty, "the wait ended with the batch")
    }

    /// The real EfficientNet trunk: rows of a batch equal the same images run one by one within 1e-5.
    @Test func batchedTrunkEqualsUnbatchedOnTheRealModel() async throws {
        let catalog = try ModuleCatalog.load(
            path: TestPaths.repository.appendingPathComponent("catalog/default.json").path,
            modelsDirectory: TestPaths.cache.appendingPathComponent("models").path)
        let module = try await ModuleLoader(catalog: catalog, modelsDirectory: TestPaths.cache.appendingPathComponent("models").path)
            .load("effnet-lite0-trunk")
        #expect(module.manifest.isBatchable)
        var machine = try Self.machine()
        var generator = SystemRandomNumberGenerator()
        func image(_ seed: Int) throws -> TensorBundle {
            var values = [Float](repeating: 0, count: 3 * 224 * 224)
            for index in values.indices { values[index] = Float.random(in: -2...2, using: &generator) }
            return try TensorBundle(tensors: ["image": BundleTensor(floats: values, shape: [1, 3, 224, 224])])
        }
        let images = try (0..<3).map(image)
        var alone: [[Float]] = []
        for input in images { alone.append(try #require(try await module.run(input)["embedding"]).floats()) }
        // Through the machine: three invocations waiting behind a fourth run as one batch.
        var actions: [DeviceAgentAction] = []
        var configuration = machine.configuration
        configuration.maxBatch = 8
        machine = Machine(configuration: configuration, modules: [("effnet-lite0-trunk", "sha256:ee", "effnet-lite0-trunk")], cores: 1)
        let digests = DeviceAssignment(epoch: 1, device: "box-1", modules: [.init(module: "effnet-lite0-trunk", digest: "sha256:ee", memoryBytes: 10)], timestampMs: 1)
        actions = machine.receive(topic: T.topics.deviceAssignment("box-1"), payload: try digests.jsonBytes(), properties: .init(), nowMs: 1)
        while let load = T.loads(actions).first { actions = machine.loadFinished(load, callInputs: .success(["image"]), batchable: true) }
        var runs: [DeviceAgentAction.Run] = []
        for (index, input) in ([images[0]] + images).enumerated() {
            let invoke = InvokeRequest(
                requestID: "r\(index)", task: "t", node: "n", module: "effnet-lite0-trunk", epoch: 1, attempt: 1, replyTo: "agg-1", deadlineMs: 100_000)
            runs += T.runs(machine.receive(
                topic: T.invokeTopic("effnet-lite0-trunk"), payload: try invoke.bundle(inputs: input).encoded(), properties: .init(), nowMs: 10))
        }
        let lead = try #require(runs.first)
        let batch = try #require(T.runs(machine.runFinished(lead.ticket, .finished(.success(try await module.run(lead.inputs))), computeMs: 1, nowMs: 20)).first)
        #expect(batch.inputs["image"]?.shape == [3, 3, 224, 224])
        let answers = T.answers(machine.runFinished(batch.ticket, .finished(.success(try await module.run(batch.inputs))), computeMs: 1, nowMs: 30))
        #expect(answers.count == 3)
        for answer in answers {
            let index = try #require(Int(answer.partial.requestID.dropFirst())) - 1
            let rows = try #require(answer.outputs["embedding"]).floats()
            #expect(rows.count == 1280)
            let worst = zip(rows, alone[index]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "request \(answer.partial.requestID): largest difference \(worst)")
        }
    }
}
