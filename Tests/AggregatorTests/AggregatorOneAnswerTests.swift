import Aggregator
import Foundation
import S2M3Core
import Testing

/// Issue 10: every request that reaches an aggregator ends in exactly one answer, and limits are
/// checked before any work. Pure: the state machine is driven directly.
@Suite("Aggregator: one answer per request, limits before work")
struct AggregatorOneAnswerTests {
    static let bundleType = MessageProperties(contentType: TensorBundle.contentType)

    static func machine(_ configure: (inout AggregatorConfiguration) -> Void = { _ in }) throws -> AggregatorStateMachine {
        var configuration = AggregatorFixture.configuration()
        configure(&configuration)
        var machine = try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        return machine
    }

    /// The one error in `actions`, checked to be publishable as it is.
    static func onlyError(_ actions: [AggregatorAction]) throws -> (message: TaskErrorMessage, reply: ReplyAddress, onTaskTopic: Bool) {
        guard actions.count == 1, case .error(let message, let reply, let onTask) = actions[0] else {
            throw AnswerError("expected exactly one error, got \(actions)")
        }
        try message.validate()
        #expect(try message.jsonBytes().count < 8_192)
        return (message, reply, onTask)
    }

    /// Answers every invocation `ok` until the request ends; returns its answers.
    static func runToEnd(_ machine: inout AggregatorStateMachine, _ actions: [AggregatorAction], nowMs: Double = 100) -> [AggregatorAction] {
        var pending = actions
        var ended: [AggregatorAction] = []
        while let action = pending.first {
            pending.removeFirst()
            guard case .invoke(let invocation) = action else {
                ended.append(action)
                continue
            }
            let (partial, bundle) = AggregatorFixture.answer(invocation)
            pending += machine.receivePartial(partial, outputs: bundle, nowMs: nowMs)
        }
        return ended
    }

    static func classify(id: String? = nil) -> [UInt8] {
        try! TaskRequest(requestID: id, inputs: ["image": .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg)]).bundle().encoded()
    }

    @Test func anEmptyTaskNameGetsUnknownTaskOnErrorsDash() throws {
        var machine = try Self.machine()
        let properties = MessageProperties(contentType: MediaType.jpeg, responseTopic: "clients/a/replies", correlationData: Array("e-1".utf8))
        let (message, reply, onTask) = try Self.onlyError(
            machine.receiveRequest(task: "", payload: AggregatorFixture.jpeg, properties: properties, retained: false, nowMs: 1))
        #expect(message.code == .unknownTask && message.task == TaskErrorMessage.unnamedTask)
        #expect(message.requestID == "e-1" && message.reason.contains("empty task name"))
        #expect(onTask && reply.responseTopic == "clients/a/replies")
    }

    @Test func aRequestIDOf4100CharactersGetsAnErrorThatFits() throws {
        var machine = try Self.machine()
        let id = String(repeating: "x", count: 4_100)
        let json = Array(#"{"schema":"s2m3.task-request/1","requestId":"\#(id)","inputs":{"text":"hi"}}"#.utf8)
        let properties = MessageProperties(contentType: MediaType.json, responseTopic: "clients/a/replies", correlationData: Array(id.utf8))
        let (message, reply, _) = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: json, properties: properties, retained: false, nowMs: 1))
        #expect(message.code == .malformedRequest && message.field == "requestId")
        #expect(message.requestID == nil, "an invalid id is not echoed as the id")
        #expect(message.reason.utf8.count < 400, "the id is cut in the reason: \(message.reason.utf8.count) bytes")
        #expect(reply.correlationData == Array(id.utf8), "the correlation data still comes back unchanged")
    }

    @Test func aBundleOf10000TensorsGetsMalformedRequestNamingTheLimit() throws {
        var machine = try Self.machine()
        var bundle = TensorBundle()
        for index in 0..<10_000 { try bundle.set(BundleTensor(uint8s: [1], shape: [1]), named: "t\(index)") }
        let (message, _, _) = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: bundle.encoded(), properties: Self.bundleType, retained: false, nowMs: 1))
        #expect(message.code == .malformedRequest && message.reason.contains("10000 inputs") && message.reason.contains("maxInputs"))
    }

    @Test func twoClientsMayUseTheSameIDAndEachGetsItsOwnResult() throws {
        var machine = try Self.machine()
        let first = MessageProperties(contentType: TensorBundle.contentType, responseTopic: "clients/cam-1/replies")
        let second = MessageProperties(contentType: TensorBundle.contentType, responseTopic: "clients/cam-2/replies")
        let a = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: first, retained: false, nowMs: 1)
        let b = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: second, retained: false, nowMs: 2)
        #expect(machine.activeRequests == 2)
        var answers = Self.runToEnd(&machine, a) + Self.runToEnd(&machine, b)
        answers += Self.runToEnd(&machine, machine.tick(nowMs: 200))
        var replies: [String] = []
        for answer in answers {
            guard case .result(let result, let reply) = answer else { Issue.record("not a result: \(answer)"); continue }
            #expect(result.requestID == "req-1")
            replies.append(reply.responseTopic ?? "-")
        }
        #expect(replies.sorted() == ["clients/cam-1/replies", "clients/cam-2/replies"])
        #expect(machine.activeRequests == 0)
    }

    @Test func aRepeatedIDFromTheSameClientGetsDuplicateRequestOnItsResponseTopicOnly() throws {
        var machine = try Self.machine()
        let properties = MessageProperties(contentType: TensorBundle.contentType, responseTopic: "clients/cam-1/replies")
        let first = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: properties, retained: false, nowMs: 1)
        #expect(!first.isEmpty)
        let (message, reply, onTask) = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: properties, retained: false, nowMs: 2))
        #expect(message.code == .duplicateRequest && message.requestID == "req-1")
        #expect(!onTask && reply.responseTopic == "clients/cam-1/replies")
        #expect(machine.activeRequests == 1, "the first request still runs")
    }

    /// A request sent again after it was answered (a client that reconnected without the answer)
    /// is not run again: it gets the same answer, on its response topic only; an answer is kept
    /// for the latest ``RequestIntake/rememberedAnswers`` requests, older repeats get
    /// `duplicate-request`.
    @Test func aRequestSentAgainAfterItsAnswerGetsTheSameAnswerOnItsResponseTopicOnly() throws {
        var machine = try Self.machine()
        let properties = MessageProperties(
            contentType: TensorBundle.contentType, responseTopic: "clients/cam-1/replies", correlationData: Array("req-1".utf8))
        let ended = Self.runToEnd(
            &machine, machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: properties, retained: false, nowMs: 1))
        guard ended.count == 1, case .result(let result, _) = ended[0] else { Issue.record("not one result: \(ended)"); return }
        let topics = Topics(root: "s2m3/v1")
        let first = try ended[0].answerMessages(topics: topics)
        let again = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: properties, retained: false, nowMs: 200)
        #expect(machine.activeRequests == 0, "not run again")
        #expect(machine.statistics.duplicateRequests == 1)
        guard again.count == 1, case .answeredAgain(.result(let repeated, _), let reply) = again[0] else { Issue.record("not answered again: \(again)"); return }
        #expect(repeated == result && reply.responseTopic == "clients/cam-1/replies")
        let messages = try again[0].answerMessages(topics: topics)
        #expect(messages.map(\.topic) == ["clients/cam-1/replies"], "the reply only, not results/{task} again")
        #expect(messages.first?.payload == first.last?.payload)
        #expect(messages.first?.properties.correlationData == Array("req-1".utf8))

        for index in 0..<RequestIntake.rememberedAnswers {
            _ = Self.runToEnd(
                &machine, machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "more-\(index)"), properties: properties, retained: false, nowMs: 300),
                nowMs: 300)
        }
        let old = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "req-1"), properties: properties, retained: false, nowMs: 400))
        #expect(old.message.code == .duplicateRequest && old.message.reason.contains("answered"))
        let recent = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "more-5"), properties: properties, retained: false, nowMs: 400)
        guard recent.count == 1, case .answeredAgain = recent[0] else { Issue.record("a recent answer is kept: \(recent)"); return }
    }

    @Test func requestsPastTheInFlightBytesAreOverloadedAtOnce() throws {
        let payload = Self.classify(id: "b-1")
        var machine = try Self.machine { $0.limits.maxInFlightBytes = payload.count * 2 }
        let one = machine.receiveRequest(task: "classify-image", payload: payload, properties: Self.bundleType, retained: false, nowMs: 1)
        let two = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "b-2"), properties: Self.bundleType, retained: false, nowMs: 1)
        #expect(machine.inFlightBytes == payload.count * 2)
        let (message, _, _) = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "b-3"), properties: Self.bundleType, retained: false, nowMs: 1))
        #expect(message.code == .overloaded && message.reason.contains("maxInFlightBytes"))
        _ = Self.runToEnd(&machine, one)
        _ = Self.runToEnd(&machine, two)
        #expect(machine.inFlightBytes == 0)
        #expect(!machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "b-3"), properties: Self.bundleType, retained: false, nowMs: 300).isEmpty)
        #expect(machine.inFlightBytes == payload.count)
    }

    /// A PNG header of 16000 × 16000 (the rest need not exist: the header decides).
    static let hugePNG: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        + [0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80, 8, 2, 0, 0, 0]

    /// Inputs over one limit each: (input name, the limit the error names, task).
    enum OverLimit: String, CaseIterable, Sendable {
        case hugePNG, tooManyTexts, longText, wavRateFFFFFFFF

        var input: (name: String, value: TaskInput, limit: String, task: String) {
            switch self {
            case .hugePNG: ("image", .media(contentType: MediaType.png, bytes: AggregatorOneAnswerTests.hugePNG), "maxImagePixels", "classify-image")
            case .tooManyTexts: ("texts", .texts([String](repeating: "a", count: 2_000)), "maxTexts", "match-image-text")
            case .longText: ("texts", .texts([String(repeating: "a", count: 70_000)]), "maxTextBytes", "match-image-text")
            case .wavRateFFFFFFFF:
                ("audio", .media(contentType: MediaType.wav, bytes: Array("RIFF(\0\0\0WAVEfmt \u{10}\0\0\0\u{1}\0\u{1}\0".utf8)
                    + [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x10, 0x00] + Array("data".utf8) + [0x04, 0, 0, 0, 0x10, 0, 0x10, 0]),
                 "4294967295 Hz", "transcribe")
            }
        }
    }

    @Test(arguments: OverLimit.allCases)
    func inputsOverALimitAreBadInputNamingTheLimit(_ case: OverLimit) throws {
        let (name, input, limit, task) = `case`.input
        var machine = try Self.machine()
        var inputs = [name: input]
        if task == "match-image-text" { inputs["image"] = .media(contentType: MediaType.jpeg, bytes: AggregatorFixture.jpeg) }
        let payload = try TaskRequest(requestID: "l-1", inputs: inputs).bundle().encoded()
        let (message, _, _) = try Self.onlyError(
            machine.receiveRequest(task: task, payload: payload, properties: Self.bundleType, retained: false, nowMs: 1))
        #expect(message.code == .badInput && message.field == "inputs.\(name)" && message.reason.contains(limit), "\(message.reason)")
    }

    /// A device's `ok` with a NaN score would make a result that cannot be published: the client
    /// gets `module-failed` instead of nothing.
    @Test func aResultThatCannotBePublishedBecomesAnError() throws {
        var machine = try Self.machine()
        var pending = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "n-1"), properties: Self.bundleType, retained: false, nowMs: 1)
        var ended: [AggregatorAction] = []
        while let action = pending.first {
            pending.removeFirst()
            guard case .invoke(let invocation) = action else { ended.append(action); continue }
            var (partial, bundle) = AggregatorFixture.answer(invocation)
            if bundle["scores"] != nil { try bundle.set(BundleTensor(floats: [.nan, 0.25], shape: [1, 2]), named: "scores") }
            partial.status = .ok
            pending += machine.receivePartial(partial, outputs: bundle, nowMs: 50)
        }
        let (message, _, _) = try Self.onlyError(ended)
        #expect(message.code == .moduleFailed && message.requestID == "n-1" && message.reason.contains("cannot be published"), "\(message.reason)")
        #expect(machine.activeRequests == 0 && machine.inFlightBytes == 0)
    }

    @Test func aHugeTimeoutIsMalformedNotACrash() throws {
        var machine = try Self.machine()
        let json = Array(#"{"schema":"s2m3.task-request/1","inputs":{"text":"hi"},"timeoutMs":9223372036854775807}"#.utf8)
        let (message, _, _) = try Self.onlyError(
            machine.receiveRequest(task: "classify-image", payload: json, properties: MessageProperties(contentType: MediaType.json), retained: false, nowMs: 1))
        #expect(message.code == .malformedRequest && message.field == "timeoutMs")
    }

    @Test func aDevicesDeadlineExceededIsDeadlineExceeded() throws {
        var machine = try Self.machine()
        let sent = machine.receiveRequest(task: "classify-image", payload: Self.classify(id: "d-1"), properties: Self.bundleType, retained: false, nowMs: 1)
        guard case .invoke(let invocation)? = sent.first else { throw AnswerError("no invocation: \(sent)") }
        let (partial, bundle) = AggregatorFixture.answer(
            invocation, status: .error, error: "deadline-exceeded: the deadline 5 passed 3 ms before the invocation arrived")
        let (message, _, _) = try Self.onlyError(machine.receivePartial(partial, outputs: bundle, nowMs: 2))
        #expect(message.code == .deadlineExceeded && message.requestID == "d-1")
    }
}

struct AnswerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
