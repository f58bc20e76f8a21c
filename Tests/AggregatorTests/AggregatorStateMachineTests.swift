import Aggregator
import Foundation
import S2M3Core
import Testing

@Suite("Aggregator state machine")
struct AggregatorStateMachineTests {
    static func machine(maxPayloadBytes: Int = 1 << 20) throws -> AggregatorStateMachine {
        var configuration = AggregatorFixture.configuration()
        configuration.maxPayloadBytes = maxPayloadBytes
        return try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
    }

    static let reply = MessageProperties(responseTopic: "clients/me/replies", correlationData: Array("corr-1".utf8))

    static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The one error a bad request gets, with its reply address.
    static func error(_ actions: [AggregatorAction]) -> (TaskErrorMessage, ReplyAddress, Bool)? {
        guard actions.count == 1, case .error(let message, let reply, let onTask) = actions[0] else { return nil }
        return (message, reply, onTask)
    }

    struct BadRequest: Sendable, CustomStringConvertible {
        var name: String
        var task: String
        var payload: [UInt8]
        var contentType: String?
        var code: TaskErrorCode
        var field: String?
        var description: String { name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "unknown task", task: "no-such-task", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"text":"x"}}"#), contentType: MediaType.json, code: .unknownTask),
        BadRequest(name: "missing input", task: "match-image-text", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"texts":["a","b"]}}"#), contentType: MediaType.json, code: .missingInput, field: "inputs.image"),
        BadRequest(name: "wrong kind", task: "match-image-text", payload: json(#"{"schema":"s2m3.task-request/1","inputs":{"image":"not a file","texts":["a"]}}"#), contentType: MediaType.json, code: .missingInput, field: "inputs.image"),
        BadRequest(name: "garbage bytes", task: "classify-image", payload: [0x00, 0x13, 0x37, 0x42, 0x99, 0x01, 0x02], contentType: nil, code: .malformedRequest),
        BadRequest(name: "corrupt image", task: "classify-image", payload: [0x00, 0x01, 0x02, 0x03, 0x04], contentType: MediaType.jpeg, code: .badInput, field: "inputs.image"),
        BadRequest(name: "wrong schema", task: "classify-image", payload: json(#"{"schema":"s2m3.plan/1","inputs":{}}"#), contentType: MediaType.json, code: .malformedRequest, field: "schema"),
        BadRequest(name: "bad JSON", task: "classify-image", payload: json("{ not json"), contentType: MediaType.json, code: .malformedRequest),
        BadRequest(name: "unsupported content type", task: "classify-image", payload: json("x"), contentType: "video/mp4", code: .unsupportedContentType),
        BadRequest(name: "too large", task: "classify-image", payload: [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 7, count: 2 << 20), contentType: MediaType.jpeg, code: .payloadTooLarge),
    ]

    /// Each bad request gets one error naming the problem, for errors/{task} and the response topic
    /// with the correlation data returned unchanged.
    @Test(arguments: badRequests)
    func badRequestsGetOneClearError(_ bad: BadRequest) throws {
        var machine = try Self.machine()
        var properties = Self.reply
        properties.contentType = bad.contentType
        let actions = machine.receiveRequest(task: bad.task, payload: bad.payload, properties: properties, retained: false, nowMs: 1_000)
        let (message, reply, onTask) = try #require(Self.error(actions), "\(actions)")
        #expect(message.code == bad.code, "\(message.reason)")
        if let field = bad.field { #expect(message.field == field, "\(message.reason)") }
        #expect(message.requestID == "corr-1")
        #expect(reply.responseTopic == "clients/me/replies")
        #expect(reply.correlationData == Array("corr-1".utf8))
        #expect(onTask)
        #expect(!message.reason.isEmpty)
        try message.validate()
        #expect(machine.activeRequests == 0)
    }

    static func matchRequest(id: String, timeoutMs: Int? = nil) -> [UInt8] {
        try! TaskRequest(
            requestID: id, inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg), "texts": .texts(["a", "b"])],
            timeoutMs: timeoutMs
        ).bundle().encoded()
    }

    /// Without a plan a request waits; the plan sends both branches; a repeated id gets one
    /// `duplicate-request` error (not a second run) while in flight and after it finished.
    @Test func waitsForAPlanAndDropsDuplicates() throws {
        var machine = try Self.machine()
        let payload = Self.matchRequest(id: "dup-1", timeoutMs: 5_000)
        let bundleType = MessageProperties(contentType: TensorBundle.contentType)
        #expect(machine.receiveRequest(task: "match-image-text", payload: payload, properties: bundleType, retained: false, nowMs: 0).isEmpty)
        let sent = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 10)
        #expect(sent.count == 2)
        let repeated = try #require(Self.error(machine.receiveRequest(task: "match-image-text", payload: payload, properties: bundleType, retained: false, nowMs: 20)))
        #expect(repeated.0.code == .duplicateRequest && repeated.0.requestID == "dup-1" && repeated.0.reason.contains("in flight"))
        #expect(repeated.2, "without a response topic the duplicate error goes to errors/{task}")
        #expect(machine.statistics.duplicateRequests == 1)
        #expect(machine.activeRequests == 1)
        // Deadline: one error, then the id is remembered.
        let expired = machine.tick(nowMs: 5_001)
        let (message, _, _) = try #require(Self.error(expired))
        #expect(message.code == .deadlineExceeded)
        let late = try #require(Self.error(machine.receiveRequest(task: "match-image-text", payload: payload, properties: bundleType, retained: false, nowMs: 5_002)))
        #expect(late.0.code == .duplicateRequest && late.0.reason.contains("answered"))
        #expect(machine.statistics.duplicateRequests == 2)
        // A retained request is ignored; an older plan changes nothing.
        #expect(machine.receiveRequest(task: "match-image-text", payload: Self.matchRequest(id: "r-2"), properties: bundleType, retained: true, nowMs: 5_003).isEmpty)
        #expect(machine.activeRequests == 0)
    }

    /// The message expiry shortens the deadline; a task the plan cannot serve is refused at once.
    @Test func expiryAndUnavailableTasks() throws {
        var machine = try Self.machine()
        var plan = AggregatorFixture.plan(epoch: 1, [:])
        plan.unavailableTasks = ["transcribe": "whisper-tiny-encoder fits on no online device"]
        _ = machine.receivePlan(plan, nowMs: 0)
        let properties = MessageProperties(contentType: TensorBundle.contentType, messageExpirySeconds: 1)
        let sent = machine.receiveRequest(task: "match-image-text", payload: Self.matchRequest(id: "e-1", timeoutMs: 9_000), properties: properties, retained: false, nowMs: 0)
        #expect(sent.count == 2)
        #expect(machine.execution("e-1")?.deadlineMs == 1_000)
        let wav: [UInt8] = Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8) + [0, 0]
        let refused = machine.receiveRequest(task: "transcribe", payload: wav, properties: MessageProperties(contentType: MediaType.wav), retained: false, nowMs: 0)
        let (message, _, _) = try #require(Self.error(refused))
        #expect(message.code == .taskUnavailable)
        #expect(message.reason.contains("whisper-tiny-encoder"))
    }

    /// A request in flight whose task a newer plan cannot serve ends with task-unavailable at once.
    @Test func aNewPlanWithoutTheTaskEndsItsRequests() throws {
        var machine = try Self.machine()
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        let bundleType = MessageProperties(contentType: TensorBundle.contentType)
        let sent = machine.receiveRequest(task: "match-image-text", payload: Self.matchRequest(id: "u-1"), properties: bundleType, retained: false, nowMs: 0)
        #expect(sent.count == 2)
        var plan = AggregatorFixture.plan(epoch: 2, [:])
        plan.unavailableTasks = ["match-image-text": "minilm-l6 fits on no online device"]
        let ended = machine.receivePlan(plan, nowMs: 5)
        let (message, _, _) = try #require(Self.error(ended))
        #expect(message.code == .taskUnavailable)
        #expect(message.requestID == "u-1")
        #expect(machine.activeRequests == 0)
        #expect(machine.router.outstanding.isEmpty)
    }

    /// The three request forms are read: JSON (base64 media), a bare JPEG (input `image`, id from
    /// the correlation data), and a bundle; the JPEG's bytes reach image-preprocess marked as JPEG.
    @Test func readsJSONBareMediaAndBundleRequests() throws {
        var machine = try Self.machine()
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        let base64 = Data(AggregatorFixture.jpeg).base64EncodedString()
        let json = Self.json(#"{"schema":"s2m3.task-request/1","requestId":"j-1","inputs":{"image":{"contentType":"image/jpeg","data":"\#(base64)"},"texts":["a","b"]}}"#)
        let fromJSON = machine.receiveRequest(task: "match-image-text", payload: json, properties: MessageProperties(contentType: MediaType.json), retained: false, nowMs: 1)
        #expect(fromJSON.count == 2)
        let bare = machine.receiveRequest(
            task: "classify-image", payload: AggregatorFixture.jpeg,
            properties: MessageProperties(contentType: nil, correlationData: Array("b-1".utf8)), retained: false, nowMs: 2)
        guard case .invoke(let invocation) = try #require(bare.first) else { Issue.record("\(bare)"); return }
        #expect(invocation.request.requestID == "b-1")
        #expect(invocation.request.node == "pixels")
        #expect(try invocation.arguments.tensor("file").uint8s() == AggregatorFixture.jpeg)
        #expect(invocation.arguments.contentType(of: "file") == MediaType.jpeg)
        let bundle = machine.receiveRequest(
            task: "match-image-text", payload: Self.matchRequest(id: "x-1"), properties: MessageProperties(), retained: false, nowMs: 3)
        #expect(bundle.count == 2)
        #expect(machine.activeRequests == 3)
    }

    /// A partial for an unknown request is dropped and counted.
    @Test func dropsPartialsOfUnknownRequests() throws {
        var machine = try Self.machine()
        let partial = PartialResult(
            requestID: "ghost", task: "classify-image", node: "pixels", module: "image-preprocess", device: "box-a", epoch: 1,
            status: .ok, queueWaitMs: 0, computeMs: 1, receivedAtMs: 1, startedAtMs: 1, finishedAtMs: 2)
        #expect(machine.receivePartial(partial, outputs: TensorBundle(), nowMs: 3).isEmpty)
        #expect(machine.statistics.droppedPartials == 1)
    }
}
