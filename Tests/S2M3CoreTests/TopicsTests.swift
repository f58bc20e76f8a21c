import Foundation
import TestSupport
import Testing

@testable import S2M3Core

@Suite("Topics")
struct TopicsTests {
    let topics = Topics(root: "test/root")

    /// Every builder produces exactly the documented pattern under the root.
    @Test func buildersMatchPatterns() {
        let built = [
            topics.deviceState("{device}"),
            topics.deviceCapabilities("{device}"),
            topics.deviceTelemetry("{device}"),
            topics.deviceAssignment("{device}"),
            topics.plannerState("{planner}"),
            topics.plannerTelemetry("{planner}"),
            topics.aggregatorState("{aggregator}"),
            topics.aggregatorTelemetry("{aggregator}"),
            topics.plan,
            topics.requests("{task}"),
            topics.results("{task}"),
            topics.errors("{task}"),
            topics.moduleInvoke(module: "{module}", device: "{device}"),
            topics.aggregatorPartials("{aggregator}", device: "{device}"),
            topics.clientReplies("{client}"),
            topics.sourceState("{source}"),
            topics.sourceFrames("{source}"),
            topics.sourceAudio("{source}"),
            topics.streamSubscription("{subscription}"),
            topics.streamResults("{task}", source: "{source}"),
            topics.streamTelemetry("{aggregator}", source: "{source}"),
        ]
        #expect(built == Topics.patterns.map { "test/root/\($0)" })
    }

    @Test func parsesTaskAndDevice() {
        #expect(topics.task(fromRequestTopic: "test/root/requests/transcribe") == "transcribe")
        #expect(topics.task(fromRequestTopic: "test/root/requests/a/b") == nil)
        #expect(topics.task(fromRequestTopic: "test/root/requests/") == "", "an empty task level is still a request (answered unknown-task)")
        #expect(topics.task(fromRequestTopic: "other/requests/x") == nil)
        #expect(topics.device(fromDeviceTopic: "test/root/devices/box-1/state") == "box-1")
        #expect(topics.device(fromDeviceTopic: "test/root/devices//state") == nil)
        #expect(topics.planner(fromPlannerTopic: "test/root/planners/planner/telemetry") == "planner")
        #expect(topics.aggregator(fromAggregatorTopic: "test/root/aggregators/agg-1/state") == "agg-1")
        #expect(topics.aggregator(fromAggregatorTopic: "test/root/aggregators/agg-1/state/x") == nil)
        #expect(topics.task(fromErrorTopic: "test/root/errors/transcribe") == "transcribe")
        #expect(topics.task(fromErrorTopic: "test/root/errors/") == nil)
        #expect(topics.source(fromSourceTopic: "test/root/sources/cam-7/frames") == "cam-7")
        #expect(topics.source(fromSourceTopic: "test/root/sources/cam-7/frames/x") == nil)
        #expect(topics.source(fromSourceTopic: "test/root/sources/+/frames") == nil)
        #expect(topics.subscription(fromStreamTopic: "test/root/streams/line-3") == "line-3")
        #expect(topics.subscription(fromStreamTopic: "test/root/streams/a/b") == nil)
    }

    /// Publishers take QoS and retain from the pattern a built topic belongs to.
    @Test func deliveryOfBuiltTopics() throws {
        #expect(topics.delivery(of: topics.deviceState("box-1")) == Topics.Delivery(qos: 1, retained: true))
        #expect(topics.delivery(of: topics.deviceTelemetry("box-1")) == Topics.Delivery(qos: 0, retained: false))
        #expect(topics.delivery(of: topics.plan) == Topics.Delivery(qos: 1, retained: true))
        #expect(topics.delivery(of: topics.aggregatorState("agg-1")) == Topics.Delivery(qos: 1, retained: true))
        #expect(topics.delivery(of: topics.aggregatorPartials("agg-1", device: "box-2")) == Topics.Delivery(qos: 1, retained: false))
        for pattern in Topics.patterns {
            let concrete = "test/root/" + pattern.replacingOccurrences(of: #"\{[a-z]+\}"#, with: "x", options: .regularExpression)
            #expect(topics.delivery(of: concrete) == Topics.delivery[pattern], "\(pattern)")
        }
        for foreign in ["other/root/plan", "test/root/devices//state", "test/root/devices/box-1/state/x", "test/root/plans", "test/root"] {
            #expect(topics.delivery(of: foreign) == nil, "\(foreign)")
        }
    }

    @Test func parsesInvocations() {
        let built = topics.moduleInvoke(module: "minilm-l6", device: "box-2")
        #expect(topics.invocation(fromInvokeTopic: built)?.module == "minilm-l6")
        #expect(topics.invocation(fromInvokeTopic: built)?.device == "box-2")
        for bad in ["test/root/modules/m/invoke", "test/root/modules//box-1/invoke", "test/root/modules/m/box-1/x/invoke",
                    "other/modules/m/box-1/invoke", "test/root/modules/m/box-1/invoked"] {
            #expect(topics.invocation(fromInvokeTopic: bad) == nil, "\(bad)")
        }
    }

    @Test func rootRule() {
        for good in ["s2m3/v1", "plant-7/s2m3/v1", "a"] { #expect(Topics.isValidRoot(good), "\(good)") }
        for bad in ["", "/s2m3", "s2m3/", "s2m3//v1", "s2m3/+", "s2m3/#", "a b"] { #expect(!Topics.isValidRoot(bad), "\(bad)") }
    }

    /// topics.md documents every pattern the code can build.
    @Test func topicsDocumentCoversEveryPattern() throws {
        let root = TestPaths.repository
        let document = try String(contentsOf: root.appendingPathComponent("topics.md"), encoding: .utf8)
        for pattern in Topics.patterns {
            #expect(document.contains("`\(pattern)`"), "topics.md does not document \(pattern)")
        }
    }

    /// topics.md's table of topics and ``Topics/delivery`` name the same patterns with the same
    /// QoS and retain flag, and the table covers every pattern the code builds.
    @Test func deliveryTableIsTopicsDocumentTable() throws {
        let document = try String(contentsOf: TestPaths.repository.appendingPathComponent("topics.md"), encoding: .utf8)
        let table = try Self.deliveryTable(document)
        #expect(table.count >= Topics.patterns.count)
        #expect(Set(table.keys) == Set(Topics.patterns), "patterns in topics.md's table vs Topics.patterns")
        #expect(Set(Topics.delivery.keys) == Set(Topics.patterns), "Topics.delivery vs Topics.patterns")
        for (pattern, delivery) in table {
            #expect(Topics.delivery[pattern] == delivery, "\(pattern): topics.md says \(delivery)")
        }
        #expect(Topics.responseDelivery == table["clients/{client}/replies"])
    }

    /// The rows `| `pattern` | who | QoS | retained | …` of the table under `## Topics`.
    static func deliveryTable(_ document: String) throws -> [String: Topics.Delivery] {
        let section = try #require(document.components(separatedBy: "## Topics\n").dropFirst().first)
        var table: [String: Topics.Delivery] = [:]
        for line in section.split(separator: "\n").prefix(while: { $0.hasPrefix("|") }) {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[0].hasPrefix("`"), let qos = Int(cells[2]), ["yes", "no"].contains(cells[3]) else { continue }
            table[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = Topics.Delivery(qos: qos, retained: cells[3] == "yes")
        }
        return table
    }
}
