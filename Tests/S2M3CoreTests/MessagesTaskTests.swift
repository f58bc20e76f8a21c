import Foundation
import Testing

@testable import S2M3Core

@Suite("Messages: task requests, results and errors")
struct MessagesTaskTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46]
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
    static let wav: [UInt8] = Array("RIFF".utf8) + [36, 0, 0, 0] + Array("WAVEfmt ".utf8)

    static func parse(_ payload: [UInt8], _ properties: MessageProperties = MessageProperties(), task: String = "classify-image", limit: Int = 1 << 20) -> Result<TaskRequest, MessageError> {
        do {
            return .success(try TaskRequest(payload: payload, properties: properties, topicTask: task, maxPayloadBytes: limit))
        } catch {
            return .failure(error)
        }
    }

    static func failure(_ result: Result<TaskRequest, MessageError>) -> MessageError? {
        if case .failure(let error) = result { error } else { nil }
    }

    @Test func jsonRequestRoundTripsEveryInputKind() throws {
        let request = TaskRequest(
            requestID: "r-1", task: "match-image-text",
            inputs: [
                "image": .media(contentType: "image/jpeg", bytes: Self.jpeg), "text": .text("a cat"),
                "texts": .texts(["a cat", "a dog"]), "embedding": .tensor(try BundleTensor(floats: [0.5, -1], shape: [1, 2])),
            ],
            timeoutMs: 5000)
        #expect(try TaskRequest(json: request.jsonData()) == request)
        #expect(try TaskRequest(bundle: TensorBundle(decoding: request.bundle().encoded())) == request)
    }

    @Test func barePayloadsByContentType() throws {
        let image = try Self.parse(Self.jpeg, MessageProperties(contentType: "image/jpeg")).get()
        #expect(image.inputs == ["image": .media(contentType: "image/jpeg", bytes: Self.jpeg)])
        #expect(image.task == "classify-image")
        let png = try Self.parse(Self.png, MessageProperties(contentType: "image/png")).get()
        #expect(png.inputs["image"] == .media(contentType: "image/png", bytes: Self.png))
        let audio = try Self.parse(Self.wav, MessageProperties(contentType: "audio/x-wav"), task: "transcribe").get()
        #expect(audio.inputs == ["audio": .media(contentType: "audio/wav", bytes: Self.wav)])
        let text = try Self.parse(Array("open the door".utf8), MessageProperties(contentType: "text/plain; charset=utf-8"), task: "voice-command").get()
        #expect(text.inputs == ["text": .text("open the door")])
    }

    @Test func barePayloadsWithoutContentTypeAreSniffed() throws {
        #expect(try Self.parse(Self.jpeg).get().inputs["image"] == .media(contentType: "image/jpeg", bytes: Self.jpeg))
        #expect(try Self.parse(Self.png).get().inputs["image"] == .media(contentType: "image/png", bytes: Self.png))
        #expect(try Self.parse(Self.wav).get().inputs["audio"] == .media(contentType: "audio/wav", bytes: Self.wav))
        let json = try Self.parse(Array(#"  {"schema":"s2m3.task-request/1","inputs":{"text":"hi"}}"#.utf8)).get()
        #expect(json.inputs == ["text": .text("hi")])
        let bundle = try TaskRequest(inputs: ["text": .text("hi")]).bundle().encoded()
        #expect(try Self.parse(bundle).get().inputs == ["text": .text("hi")])
    }

    @Test func requestIDPrecedence() throws {
        let body = Array(#"{"schema":"s2m3.task-request/1","requestId":"from-body","inputs":{"text":"x"}}"#.utf8)
        let both = MessageProperties(correlationData: Array("from-correlation".utf8), userProperties: [.init("s2m3-request-id", "from-user")])
        #expect(try Self.parse(body, both).get().requestID == "from-body")
        #expect(try Self.parse(Self.jpeg, both).get().requestID == "from-correlation")
        #expect(try Self.parse(Self.jpeg, MessageProperties(userProperties: [.init("s2m3-request-id", "from-user")])).get().requestID == "from-user")
        #expect(try Self.parse(Self.jpeg, MessageProperties(correlationData: [0x00, 0xAB, 0xFF])).get().requestID == "00abff")
        #expect(try Self.parse(Self.jpeg).get().requestID == nil)
    }

    @Test func badRequestsGetClearErrors() throws {
        let tooLarge = Self.failure(Self.parse(Self.jpeg, limit: 4))
        #expect(tooLarge?.code == .payloadTooLarge && TaskErrorCode(tooLarge!) == .payloadTooLarge)
        #expect(Self.failure(Self.parse([]))?.field == "payload")
        let garbage = Self.failure(Self.parse(Array("\u{1}\u{2}garbage bytes".utf8)))
        #expect(garbage?.code == .invalidBundle && TaskErrorCode(garbage!) == .malformedRequest)
        let type = Self.failure(Self.parse(Self.jpeg, MessageProperties(contentType: "video/mp4")))
        #expect(type?.code == .unsupportedContentType && type?.field == "contentType")
        let mismatch = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","task":"transcribe","inputs":{"text":"x"}}"#.utf8)))
        #expect(mismatch?.field == "task")
        let noInputs = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","inputs":{}}"#.utf8), MessageProperties(contentType: "application/json")))
        #expect(noInputs?.code == .missingField && noInputs?.field == "inputs")
        let base64 = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","inputs":{"image":{"contentType":"image/jpeg","data":"%%%"}}}"#.utf8)))
        #expect(base64?.field == "inputs.image.data")
        let media = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","inputs":{"image":{"contentType":"image/gif","data":"R0lG"}}}"#.utf8)))
        #expect(media?.code == .unsupportedContentType && media?.field == "inputs.image.contentType")
        let tensor = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","inputs":{"x":{"dtype":"F32","shape":[3],"data":"AAAAAA=="}}}"#.utf8)))
        #expect(tensor?.field == "inputs.x.data")
        let text = Self.failure(Self.parse([0xC3, 0x28], MessageProperties(contentType: "text/plain")))
        #expect(text?.field == "payload")
        let badID = Self.failure(Self.parse(Array(#"{"schema":"s2m3.task-request/1","requestId":"has space","inputs":{"text":"x"}}"#.utf8)))
        #expect(badID?.field == "requestId")
        #expect(badID?.description.contains("s2m3.task-request/1") == true)
    }

    @Test func deadlineTakesTheEarliestBound() {
        let request = TaskRequest(inputs: ["text": .text("x")], timeoutMs: 8000)
        #expect(request.deadlineMs(receivedAtMs: 1000, properties: MessageProperties(messageExpirySeconds: 5), defaultTimeoutMs: 30_000) == 6000)
        #expect(request.deadlineMs(receivedAtMs: 1000, properties: MessageProperties(), defaultTimeoutMs: 30_000) == 9000)
        #expect(TaskRequest(inputs: [:]).deadlineMs(receivedAtMs: 0, properties: MessageProperties(), defaultTimeoutMs: 30_000) == 30_000)
    }

    static let result = TaskResult(
        requestID: "req-42", task: "match-image-text", epoch: 3,
        outputs: [
            "scores": .labels([.init(label: "a photo of a cat", score: 0.83), .init(label: "a photo of a dog", score: 0.11)]),
            "caption": .text("a cat"), "lines": .texts(["LOT 42", "EXP 2027"]), "embedding": .embedding([0.1, -0.2, 0.3]),
        ],
        timeline: [
            .init(node: "image", module: "effnet-lite0-trunk", device: "box-1", queuedMs: 0.4, computeMs: 14.1, transferMs: 0.9, startMs: 0.3, endMs: 15.7),
            .init(node: "text", module: "minilm-l6", device: "box-2", queuedMs: 0.2, computeMs: 4.2, transferMs: 0.8, startMs: 0.3, endMs: 5.5),
        ],
        totalMs: 17.2, aggregator: "agg-1", completedAtMs: 1_767_225_602_617)

    @Test func resultsAndErrorsRoundTrip() throws {
        #expect(try TaskResult(json: Self.result.jsonData()) == Self.result)
        let error = TaskErrorMessage(requestID: "req-43", task: "classify-image", code: .badInput, reason: "image does not decode as JPEG", field: "inputs.image", timestampMs: 1)
        #expect(try TaskErrorMessage(json: error.jsonData()) == error)
        let properties = Self.result.properties(correlationData: [1, 2, 3], traceparent: nil)
        #expect(properties.correlationData == [1, 2, 3] && properties.contentType == "application/json")
        #expect(properties.userProperty("s2m3-epoch") == "3")
    }

    @Test func resultRulesAreEnforced() throws {
        var result = Self.result
        result.timeline[1].endMs = 0.1
        #expect(throws: MessageError.self) { try result.jsonData() }
        result = Self.result
        result.outputs["embedding"] = .embedding([.infinity])
        #expect(throws: MessageError.self) { try result.jsonData() }
        result.outputs = [:]
        #expect(throws: MessageError.self) { try result.jsonData() }
        let kind = Array(#"{"schema":"s2m3.task-result/1","requestId":"r","task":"t","epoch":1,"outputs":{"x":{"kind":"video"}},"timeline":[],"totalMs":1,"aggregator":"a","completedAtMs":1}"#.utf8)
        do {
            _ = try TaskResult(json: kind)
            Issue.record("decoded an unknown output kind")
        } catch {
            #expect(error.field == "outputs.x.kind" && error.message.contains("labels, text, texts, embedding"))
        }
    }

    @Test func errorCodesAreOpenButWellFormed() throws {
        let future = Array(#"{"schema":"s2m3.task-error/1","task":"t","code":"added-later","reason":"r","timestampMs":1}"#.utf8)
        #expect(try TaskErrorMessage(json: future).code.rawValue == "added-later")
        let bad = Array(#"{"schema":"s2m3.task-error/1","task":"t","code":"Not OK","reason":"r","timestampMs":1}"#.utf8)
        #expect(throws: MessageError.self) { try TaskErrorMessage(json: bad) }
        #expect(Set(TaskErrorCode.all).count == TaskErrorCode.all.count)
        #expect(TaskErrorCode.all.allSatisfy { $0.isWellFormed })
        let parsing = MessageError(.invalidField, field: "inputs.image.data", schema: TaskRequest.schema, "is not valid base64")
        let message = TaskErrorMessage(requestID: nil, task: "classify-image", parsing: parsing, timestampMs: 5)
        #expect(message.code == .malformedRequest && message.field == "inputs.image.data" && message.reason.contains("base64"))
    }
}
