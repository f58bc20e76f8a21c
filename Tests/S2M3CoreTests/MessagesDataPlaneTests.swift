import Foundation
import Testing

@testable import S2M3Core

@Suite("Messages: invocations and partial results")
struct MessagesDataPlaneTests {
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    static let invoke = InvokeRequest(
        requestID: "req-42", task: "match-image-text", node: "image", module: "effnet-lite0-trunk", epoch: 3,
        replyTo: "agg-1", deadlineMs: 1_767_225_605_000, traceparent: traceparent)

    static func inputs() throws -> TensorBundle {
        var bundle = TensorBundle()
        try bundle.set(BundleTensor(floats: Array(repeating: 0.5, count: 12), shape: [1, 3, 2, 2]), named: "pixels")
        return bundle
    }

    @Test func invocationTravelsInTheBundleAndProperties() throws {
        let bytes = try Self.invoke.bundle(inputs: Self.inputs()).encoded()
        let properties = Self.invoke.properties(topics: Topics(root: "t"), device: "box-1", nowMs: 1_767_225_602_500)
        let received = try TensorBundle(decoding: bytes)
        let decoded = try InvokeRequest(bundle: received, properties: properties)
        #expect(decoded == Self.invoke)
        #expect(try received.tensor("pixels").shape == [1, 3, 2, 2])
        #expect(properties.responseTopic == "t/aggregators/agg-1/partials/box-1")
        #expect(properties.correlationData == Array("req-42".utf8))
        #expect(properties.messageExpirySeconds == 3)
        #expect(properties.contentType == "application/x-safetensors")
        #expect(properties.userProperty("s2m3-request-id") == "req-42")
        #expect(properties.userProperty("s2m3-epoch") == "3")
        #expect(properties.userProperty("traceparent") == Self.traceparent)
        #expect(received.metadata["s2m3.schema"] == "s2m3.invoke/1")
    }

    @Test func malformedTraceparentIsDroppedNotFatal() throws {
        let bundle = try Self.invoke.bundle(inputs: Self.inputs())
        let properties = MessageProperties(userProperties: [.init("traceparent", "not-a-trace")])
        #expect(try InvokeRequest(bundle: bundle, properties: properties).traceparent == nil)
    }

    @Test func expiryRoundsUpAndNeverReachesZero() {
        #expect(MessageProperties.expirySeconds(untilMs: 10_001, nowMs: 9_000) == 2)
        #expect(MessageProperties.expirySeconds(untilMs: 10_000, nowMs: 9_000) == 1)
        #expect(MessageProperties.expirySeconds(untilMs: 5_000, nowMs: 9_000) == 1)
    }

    static func metadataError(_ change: (inout [String: String]) -> Void) throws -> MessageError? {
        var bundle = try invoke.bundle(inputs: inputs())
        change(&bundle.metadata)
        do {
            _ = try InvokeRequest(bundle: bundle)
            return nil
        } catch {
            return error
        }
    }

    @Test func invocationMetadataErrorsNameTheKey() throws {
        let missing = try Self.metadataError { $0["s2m3.reply-to"] = nil }
        #expect(missing?.code == .missingField && missing?.field == "s2m3.reply-to")
        let badEpoch = try Self.metadataError { $0["s2m3.epoch"] = "three" }
        #expect(badEpoch?.code == .invalidField && badEpoch?.field == "s2m3.epoch")
        let badModule = try Self.metadataError { $0["s2m3.module"] = "a+b" }
        #expect(badModule?.field == "s2m3.module")
        let partial = try Self.metadataError { $0["s2m3.schema"] = "s2m3.partial/1" }
        #expect(partial?.code == .wrongSchema && partial?.field == "s2m3.schema")
        let noSchema = try Self.metadataError { $0["s2m3.schema"] = nil }
        #expect(noSchema?.code == .missingField)
        #expect(noSchema?.description.contains("s2m3.invoke/1") == true)
    }

    static func partial(_ status: PartialResult.Status, error: String? = nil) -> PartialResult {
        PartialResult(
            answering: invoke, device: "box-1", status: status, error: error, queueWaitMs: 1.25, computeMs: 13.875,
            receivedAtMs: 1_767_225_602_600, startedAtMs: 1_767_225_602_601, finishedAtMs: 1_767_225_602_615)
    }

    @Test func partialResultsRoundTrip() throws {
        var outputs = TensorBundle()
        try outputs.set(BundleTensor(floats: Array(repeating: 0.25, count: 1280), shape: [1, 1280]), named: "embedding")
        let ok = Self.partial(.ok)
        let received = try TensorBundle(decoding: ok.bundle(outputs: outputs).encoded())
        #expect(try PartialResult(bundle: received) == ok)
        #expect(try received.tensor("embedding").floats().count == 1280)
        #expect(received.metadata["s2m3.compute-ms"] == "13.875")

        let busy = Self.partial(.busy)
        #expect(try PartialResult(bundle: TensorBundle(decoding: busy.bundle().encoded())) == busy)
        let failed = Self.partial(.error, error: "module effnet-lite0-trunk is not loaded")
        let decoded = try PartialResult(bundle: TensorBundle(decoding: failed.bundle().encoded()))
        #expect(decoded.status == .error && decoded.error == failed.error)

        let properties = ok.properties(traceparent: Self.traceparent)
        #expect(properties.correlationData == Array("req-42".utf8))
        #expect(properties.userProperty("traceparent") == Self.traceparent)
    }

    @Test func partialResultRulesAreEnforced() throws {
        #expect(throws: MessageError.self) { try Self.partial(.error).bundle() }
        #expect(throws: MessageError.self) { try Self.partial(.ok, error: "x").bundle() }
        var outputs = TensorBundle()
        try outputs.set(BundleTensor(uint8s: [1]), named: "x")
        #expect(throws: MessageError.self) { try Self.partial(.busy).bundle(outputs: outputs) }
        var bundle = try Self.partial(.ok).bundle()
        bundle.metadata["s2m3.status"] = "maybe"
        do {
            _ = try PartialResult(bundle: bundle)
            Issue.record("decoded an unknown status")
        } catch {
            #expect(error.field == "s2m3.status" && error.message.contains("ok, busy, error"))
        }
        var early = Self.partial(.ok)
        early.finishedAtMs = early.receivedAtMs - 1
        early.startedAtMs = nil
        #expect(throws: MessageError.self) { try early.bundle() }
    }
}
