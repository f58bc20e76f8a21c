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
            topics.plan,
            topics.requests("{task}"),
            topics.results("{task}"),
            topics.errors("{task}"),
            topics.moduleInvoke(module: "{module}", device: "{device}"),
            topics.aggregatorPartials("{aggregator}", device: "{device}"),
            topics.clientReplies("{client}"),
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
    }

    /// topics.md documents every pattern the code can build.
    @Test func topicsDocumentCoversEveryPattern() throws {
        let root = TestPaths.repository
        let document = try String(contentsOf: root.appendingPathComponent("topics.md"), encoding: .utf8)
        for pattern in Topics.patterns {
            #expect(document.contains("`\(pattern)`"), "topics.md does not document \(pattern)")
        }
    }
}
