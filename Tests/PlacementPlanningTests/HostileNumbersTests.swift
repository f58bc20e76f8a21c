import Foundation
import Testing

import PlacementGenerators
@testable import PlacementPlanning
@testable import S2M3Core

/// Numbers an attacker chose (issue 10): each one used to crash a service or `s2m3 plan`; now each
/// is refused at decode with an error naming the field and its range, and what is accepted cannot
/// overflow.
@Suite("Hostile numbers")
struct HostileNumbersTests {
    // MARK: Placement instances (`s2m3 plan`, the planner)

    private static func instance(devices: String, modules: String, tasks: String) -> Data {
        Data(#"{"devices": [\#(devices)], "modules": [\#(modules)], "tasks": [\#(tasks)]}"#.utf8)
    }

    private static let device = #"{"id": "d", "memoryBytes": 1000000000, "gflops": 10, "link": {"bandwidthMbps": 100, "latencyMs": 1}}"#
    private static let module = #"{"id": "m", "memoryBytes": 1000, "gflop": 1, "outputBytes": 10}"#
    private static let task = #"{"id": "t", "rate": 1, "nodes": [{"id": "n", "module": "m"}]}"#

    private func expectInvalid(_ data: Data, mentioning words: [String]) {
        #expect {
            try PlacementInstance(json: data)
        } throws: { error in
            guard let error = error as? PlacementError else { return false }
            return error.code == .invalidValue && words.allSatisfy { error.message.contains($0) }
        }
    }

    @Test func hugeParameterCountTimesBytesPerParameterIsRefused() {
        let module = #"{"id": "m", "parameters": 8e18, "bytesPerParameter": 2, "gflop": 1, "outputBytes": 10}"#
        expectInvalid(Self.instance(devices: Self.device, modules: module, tasks: Self.task), mentioning: ["parameters", "1099511627776"])
        let product = #"{"id": "m", "parameters": 1e12, "bytesPerParameter": 4, "gflop": 1, "outputBytes": 10}"#
        expectInvalid(Self.instance(devices: Self.device, modules: product, tasks: Self.task), mentioning: ["parameters × bytesPerParameter"])
    }

    @Test func devicesWhoseMemorySumOverflowsAreRefused() {
        let big = #"{"id": "d1", "memoryBytes": 5e18, "gflops": 10, "link": {"bandwidthMbps": 100, "latencyMs": 1}}"#
        let big2 = big.replacingOccurrences(of: "d1", with: "d2")
        expectInvalid(Self.instance(devices: big + "," + big2, modules: Self.module, tasks: Self.task), mentioning: ["memoryBytes", "d1"])
    }

    @Test func enormousPriorityIsRefusedNotANaNObjective() {
        let task = #"{"id": "t", "rate": 1, "priority": 1e308, "nodes": [{"id": "n", "module": "m"}]}"#
        expectInvalid(Self.instance(devices: Self.device, modules: Self.module, tasks: task), mentioning: ["priority", "1e+308"])
    }

    @Test func instanceAtEveryBoundSolvesWithAFiniteObjective() throws {
        let max = ValueRange.bytes.upperBound
        let devices = (1...2).map {
            #"{"id": "d\#($0)", "memoryBytes": \#(max), "gflops": 1e9, "link": {"bandwidthMbps": 1e-6, "latencyMs": 1e7}}"#
        }.joined(separator: ",")
        let modules = #"{"id": "m", "memoryBytes": \#(max), "gflop": 1e9, "outputBytes": \#(max)}"#
        let tasks = #"{"id": "t", "rate": 1e-3, "priority": 1e6, "inputs": [{"id": "in", "bytes": \#(max)}], "nodes": [{"id": "n", "module": "m", "inputs": ["in"]}]}"#
        let instance = try PlacementInstance(json: Self.instance(devices: devices, modules: modules, tasks: tasks))
        let result = try Placement.solve(instance, algorithm: .greedy)
        #expect(result.placement.objectiveSeconds.isFinite && result.placement.objectiveSeconds > 0)
    }

    @Test func deepChainWithACycleIsAnErrorNotAStackOverflow() throws {
        // 100,000 nodes, each reading the next; the last reads the first.
        let count = 100_000
        let nodes = (0..<count).map { TaskNode(id: "n\($0)", module: "m", inputs: ["n\(($0 + 1) % count)"]) }
        let graph = TaskGraph(inputs: [], nodes: nodes)
        #expect {
            try graph.topologicalOrder()
        } throws: { error in
            guard let error = error as? TaskGraphError else { return false }
            return error.code == .cycle && error.message.contains("(100000 nodes)") && error.message.utf8.count < 400
        }
        // The same chain without the cycle orders fine.
        var chain = nodes
        chain[count - 1].inputs = []
        #expect(try TaskGraph(inputs: [], nodes: chain).topologicalOrder().count == count)
    }

    @Test func tooManyNodesInOneTaskIsAClearError() {
        let count = 60_000
        let nodes = (0..<count).map { #"{"id": "n\#($0)", "module": "m", "inputs": ["n\#(($0 + 1) % count)"]}"# }
        let task = #"{"id": "t", "rate": 1, "nodes": [\#(nodes.joined(separator: ","))]}"#
        expectInvalid(Self.instance(devices: Self.device, modules: Self.module, tasks: task), mentioning: ["60000 nodes of task 't'", "10000"])
    }

    // MARK: Messages

    @Test func retainedPlanAtTheTopEpochIsRefusedNamingTheField() throws {
        let plan = PlanMessage(
            epoch: 1, createdAtMs: 1, algorithm: "greedy", devices: [], placement: [:], routes: [:], predictedLatencyMs: [:],
            objectiveMs: 0, provenOptimal: false)
        let text = String(decoding: try plan.jsonBytes(), as: UTF8.self)
            .replacingOccurrences(of: #""epoch":1"#, with: #""epoch":9223372036854775807"#)
        #expect(text.contains("9223372036854775807"))
        #expect {
            try PlanMessage(json: Array(text.utf8))
        } throws: { error in
            guard let error = error as? MessageError else { return false }
            return error.field == "epoch" && error.message.contains("9007199254740992")
        }
    }

    @Test func plannerAfterARetainedPlanAtTheEpochBoundDoesNotOverflow() throws {
        var machine = PlannerStateMachine(instance: PlannerStateMachineTests.instance)
        let top = PlanMessage(
            epoch: ValueRange.epoch.upperBound, createdAtMs: 1, algorithm: "greedy", devices: ["gone"], placement: [:],
            routes: [:], predictedLatencyMs: [:], objectiveMs: 0, provenOptimal: false)
        try top.validate()
        machine.handle(.retainedPlan(top))
        PlannerStateMachineTests.join(&machine, "a")
        let plan = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 10)))
        #expect(plan.epoch == ValueRange.epoch.upperBound)
        try plan.validate()
    }

    @Test func theSlowestDevicesStillGetAPublishablePlan() throws {
        // Rate 0: no load (so not overloaded), only latency counts.
        let instance = try PlacementInstance(json: Data(#"""
            {"devices": [{"id": "template", "memoryBytes": 1, "gflops": 1, "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "m1", "memoryBytes": 100000000, "gflop": 1000000, "outputBytes": 1000}],
             "tasks": [{"id": "t1", "rate": 0, "nodes": [{"id": "n", "module": "m1"}]}]}
            """#.utf8))
        var machine = PlannerStateMachine(instance: instance)
        machine.handle(.capabilities(DeviceCapabilities(
            device: "slow", session: "s1", memoryBudgetBytes: 1 << 40, computeGflops: ValueRange.gflops.lowerBound, cores: 1, sensors: [],
            limits: .init(queueCapacity: 1, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)))
        machine.handle(.state(DeviceState(device: "slow", status: .online, session: "s1", timestampMs: 1)))
        let plan = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 10)))
        try plan.validate()
        #expect(plan.objectiveMs == ValueRange.durationMs.upperBound, "10^6 GFLOP at 10^-6 GFLOP/s (10^15 ms) is past the range: \(plan.objectiveMs)")
    }

    @Test func hugeTimeoutIsRefusedInJSONAndInABundle() throws {
        let json = #"{"schema": "s2m3.task-request/1", "inputs": {"text": "hi"}, "timeoutMs": 9223372036854775807}"#
        #expect {
            try TaskRequest(payload: Array(json.utf8), properties: MessageProperties(contentType: "application/json"), topicTask: "t")
        } throws: { error in
            guard let error = error as? MessageError else { return false }
            return error.field == "timeoutMs" && error.message.contains("3600000")
        }
        var bundle = TensorBundle(metadata: [BundleMetadataKey.timeoutMs: "9223372036854775807"])
        try bundle.setText("hi", named: "text")
        #expect {
            try TaskRequest(payload: bundle.encoded(), properties: MessageProperties(contentType: TensorBundle.contentType), topicTask: "t")
        } throws: { error in
            guard let error = error as? MessageError else { return false }
            return error.field == "timeoutMs" && error.message.contains("3600000")
        }
    }

    @Test func deeplyNestedJSONIsAnErrorNotAStackOverflow() {
        let depth = 100_000
        let json = #"{"schema": "s2m3.task-request/1", "inputs": {"text": "#, nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: MessageError.self) {
            try TaskRequest(payload: Array((json + nested + "}}").utf8), properties: MessageProperties(contentType: "application/json"), topicTask: "t")
        }
        #expect(throws: MessageError.self) { try PlanMessage(json: Array(("{\"epoch\": " + nested + "}").utf8)) }
    }

    @Test func deadlineArithmeticSaturates() {
        let request = TaskRequest(inputs: ["text": .text("hi")])
        let properties = MessageProperties()
        #expect(request.deadlineMs(receivedAtMs: 1000, properties: properties, defaultTimeoutMs: .max) == 1000 + ValueRange.timeoutMs.upperBound)
        #expect(request.deadlineMs(receivedAtMs: .max - 5, properties: properties, defaultTimeoutMs: 10) == .max)
        #expect(request.deadlineMs(receivedAtMs: 1000, properties: properties, defaultTimeoutMs: .min) == 1001)
    }

    @Test func telemetryWithOutOfRangeNumbersIsRefused() {
        let telemetry = DeviceTelemetry(
            device: "d", timestampMs: .max, queueDepth: 0, queueCapacity: 1, residentMemoryBytes: 0, loadedModules: [], modules: [:])
        #expect(throws: MessageError.self) { try telemetry.validate() }
        let timing = DeviceTelemetry(
            device: "d", timestampMs: 1, queueDepth: 0, queueCapacity: 1, residentMemoryBytes: 0, loadedModules: [],
            modules: ["m": .init(p50Ms: .infinity, count: 1)])
        #expect(throws: MessageError.self) { try timing.validate() }
    }
}
