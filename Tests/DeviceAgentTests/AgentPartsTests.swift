import DeviceAgent
import S2M3Core
import Testing

@Suite("Device agent parts")
struct AgentPartsTests {
    @Test func parsesMemoryAmounts() throws {
        #expect(try MemoryAmount.parse("600MB") == 600_000_000)
        #expect(try MemoryAmount.parse("1.5GiB") == 1_610_612_736)
        #expect(try MemoryAmount.parse("123456") == 123_456)
        #expect(try MemoryAmount.parse("512 KiB") == 524_288)
        for bad in ["", "abc", "-5MB", "0", "5XB", "1e3", "MB"] {
            #expect(throws: DeviceAgentError.self, "\(bad)") { try MemoryAmount.parse(bad) }
        }
    }

    @Test func parsesSensors() throws {
        let sensors = try DeviceAgentConfiguration.sensors(parsing: "cam0:camera,mic0:microphone")
        #expect(sensors == [.init(id: "cam0", kind: .camera), .init(id: "mic0", kind: .microphone)])
        #expect(try DeviceAgentConfiguration.sensors(parsing: "").isEmpty)
        for bad in ["cam0", "cam0:eye", "a/b:camera", "x:camera,x:text"] {
            #expect(throws: DeviceAgentError.self, "\(bad)") { try DeviceAgentConfiguration.sensors(parsing: bad) }
        }
    }

    @Test func queueBoundsWaitingPlusRunning() {
        var queue = InvocationQueue<Int>(capacity: 3, workers: 1)
        let admitted = (1...4).map { queue.admit($0) }
        #expect(admitted == [.start, .wait, .wait, .busy])
        #expect(queue.depth == 3)
        let second = queue.finish()
        #expect(second == 2)
        let fifth = queue.admit(5)
        #expect(fifth == .wait)
        let rest = [queue.finish(), queue.finish(), queue.finish()]
        #expect(rest == [3, 5, nil])
        #expect(queue.depth == 0)
        var two = InvocationQueue<Int>(capacity: 2, workers: 2)
        let parallel = (1...3).map { two.admit($0) }
        #expect(parallel == [.start, .start, .busy])
    }

    @Test func duplicatesAreSeenOnceWithinTheWindow() {
        var filter = DuplicateFilter<String>(capacity: 2)
        // "a" falls out of the window once "b" and "c" came after it.
        let seen = ["a", "a", "b", "c", "a", "c"].map { filter.firstTime($0) }
        #expect(seen == [true, false, true, true, true, false])
    }

    @Test func timingsReportMedianAndCount() {
        var timings = RecentTimings(window: 3)
        for value in [10.0, 1, 5, 7] { timings.record("m", ms: value) }
        #expect(timings.snapshot["m"] == .init(p50Ms: 5, count: 4))  // window: 1, 5, 7
        timings.record("n", ms: 2)
        timings.record("n", ms: 4)
        #expect(timings.snapshot["n"]?.p50Ms == 3)
    }

    @Test func unreadableInvocationIsAnsweredWhereItCanBe() throws {
        let topics = Topics(root: "t/v1")
        // Nothing readable but the MQTT properties.
        let properties = MessageProperties(
            responseTopic: "t/v1/aggregators/agg-1/partials", correlationData: Array("req-9".utf8),
            userProperties: [.init(MessageProperties.epochName, "4")])
        let reply = try #require(InvokeFailureReply(
            metadata: [:], properties: properties, topicModule: "minilm-l6", device: "box-1", topics: topics,
            reason: "not a bundle", receivedAtMs: 100, finishedAtMs: 101))
        #expect(reply.topic == "t/v1/aggregators/agg-1/partials")
        #expect(reply.partial.requestID == "req-9")
        #expect(reply.partial.epoch == 4)
        #expect(reply.partial.node == InvokeFailureReply.unknown)
        #expect(reply.partial.status == .error)
        try reply.partial.validate()
        // Metadata wins over properties.
        let fromMetadata = try #require(InvokeFailureReply(
            metadata: [BundleMetadataKey.requestID: "req-1", BundleMetadataKey.replyTo: "agg-2", BundleMetadataKey.node: "image"],
            properties: properties, topicModule: "minilm-l6", device: "box-1", topics: topics, reason: "bad", receivedAtMs: 1,
            finishedAtMs: 1))
        #expect(fromMetadata.topic == topics.aggregatorPartials("agg-2", device: "box-1"))
        #expect(fromMetadata.partial.requestID == "req-1")
        #expect(fromMetadata.partial.node == "image")
        // No request id or nowhere to answer: nobody to tell.
        #expect(InvokeFailureReply(
            metadata: [:], properties: MessageProperties(responseTopic: "x/y"), topicModule: "m", device: "d", topics: topics,
            reason: "r", receivedAtMs: 1, finishedAtMs: 1) == nil)
        #expect(InvokeFailureReply(
            metadata: [BundleMetadataKey.requestID: "req-1"], properties: MessageProperties(), topicModule: "m", device: "d",
            topics: topics, reason: "r", receivedAtMs: 1, finishedAtMs: 1) == nil)
    }
}
