import Aggregator
import S2M3Core
import Testing

/// Issue 10, item 4: a device that stops reporting (hung, e.g. SIGSTOP, while the broker still
/// holds its connection) is suspected after ``AggregatorConfiguration/telemetrySilenceMs`` and its
/// work goes to another replica. Pure: the chooser and state machine are driven directly.
@Suite("Aggregator: silent devices")
struct AggregatorSilenceTests {
    static func telemetry(_ device: String, at: Int) -> DeviceTelemetry {
        DeviceTelemetry(
            device: device, timestampMs: at, queueDepth: 0, queueCapacity: 16, residentMemoryBytes: 1,
            loadedModules: AggregatorFixture.catalog.modules.map(\.id), modules: [:])
    }

    @Test func aSilentReplicaIsRoutedAroundUntilItReportsAgain() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-a", "box-b"]], rest: ["box-a"]))
        chooser.apply(telemetry: Self.telemetry("box-a", at: 0), nowMs: 0)
        chooser.apply(telemetry: Self.telemetry("box-b", at: 0), nowMs: 0)
        #expect(chooser.checkSilence(nowMs: 1_900).isEmpty)
        chooser.apply(telemetry: Self.telemetry("box-b", at: 1_900), nowMs: 1_900)
        #expect(chooser.choose(module: "minilm-l6") == "box-a", "the plan's order decides a tie")
        #expect(chooser.checkSilence(nowMs: 2_100) == ["box-a"])
        #expect(chooser.checkSilence(nowMs: 2_200).isEmpty, "suspected once")
        #expect(chooser.choose(module: "minilm-l6") == "box-b")
        // A module whose only host is silent is still sent there: the device may only be slow.
        #expect(chooser.choose(module: "top-k") == "box-a")
        chooser.apply(telemetry: Self.telemetry("box-a", at: 2_300), nowMs: 2_300)
        #expect(chooser.suspected.isEmpty)
        #expect(chooser.choose(module: "minilm-l6") == "box-a")
    }

    @Test func invocationsOnASilentDeviceMoveToALiveReplica() throws {
        var machine = try AggregatorStateMachine(configuration: AggregatorFixture.configuration(), catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:], rest: ["box-a", "box-b"]), nowMs: 0)
        machine.receiveTelemetry(Self.telemetry("box-a", at: 0), nowMs: 0)
        machine.receiveTelemetry(Self.telemetry("box-b", at: 0), nowMs: 0)
        let payload = try TaskRequest(inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)]).bundle().encoded()
        let first = machine.receiveRequest(
            task: "classify-image", payload: payload, properties: MessageProperties(contentType: TensorBundle.contentType),
            retained: false, nowMs: 10)
        let sent = try #require(first.compactMap { if case .invoke(let invocation) = $0 { invocation } else { nil } }.first)
        let hung = sent.device, live = hung == "box-a" ? "box-b" : "box-a"
        // Only the live device keeps reporting; nothing moves before the silence limit.
        machine.receiveTelemetry(Self.telemetry(live, at: 1_000), nowMs: 1_000)
        #expect(machine.tick(nowMs: 1_500).isEmpty)
        machine.receiveTelemetry(Self.telemetry(live, at: 2_000), nowMs: 2_000)
        let moved = machine.tick(nowMs: 2_050).compactMap { if case .invoke(let invocation) = $0 { invocation } else { nil } }
        #expect(moved.count == 1)
        #expect(moved.first?.device == live && moved.first?.request.node == sent.request.node && moved.first?.request.attempt == 2)
        #expect(machine.router.suspected == [hung])
        // A new request avoids the silent device from the start.
        let second = machine.receiveRequest(
            task: "classify-image", payload: payload, properties: MessageProperties(contentType: TensorBundle.contentType),
            retained: false, nowMs: 2_100)
        #expect(second.compactMap { if case .invoke(let invocation) = $0 { invocation.device } else { nil } } == [live])
    }
}
