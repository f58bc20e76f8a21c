import Aggregator
import Foundation
import S2M3Core
import TestSupport
import Testing

/// Stream subscriptions declared in a file (`--streams-config`): read with the same checks as a
/// retained one; a bad file is refused naming the file and the problem; a retained subscription of
/// the same name replaces a declared one.
@Suite("Streams: subscriptions from a config file")
struct StreamSubscriptionFileTests {
    static func parse(_ text: String) throws(StreamSubscriptionFile.Problem) -> [String: StreamSubscription] {
        try StreamSubscriptionFile.parse(Data(text.utf8), path: "/etc/s2m3/streams.json")
    }

    static func problem(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "no problem"
        } catch {
            return error.description
        }
    }

    static let line3 = #"{"schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": [{"task": "classify-image"}]}"#

    @Test func objectAndListForms() throws {
        let object = try Self.parse(#"{"line-3": \#(Self.line3)}"#)
        #expect(object == ["line-3": StreamSubscription(source: "cam-1", tasks: [.init(task: "classify-image")])])
        let list = try Self.parse(#"[\#(Self.line3), {"name": "dock", "schema": "s2m3.stream-subscription/1", "source": "cam-2", "tasks": [{"task": "classify-image"}], "maxResultsPerSecond": 2}]"#)
        #expect(list.keys.sorted() == ["config-1", "dock"])
        #expect(list["dock"]?.maxResultsPerSecond == 2)
        #expect(try Self.parse("[]").isEmpty)
    }

    @Test func badFilesNameFileAndProblem() {
        let cases: [(String, String)] = [
            ("{", "is not JSON"),
            ("42", "must be an object of name → subscription or a list"),
            (Self.line3, "is one subscription"),
            (#"{"line 3": \#(Self.line3)}"#, "subscription name 'line 3' must be"),
            (#"{"a": {"schema": "s2m3.plan/1"}}"#, "subscription 'a' cannot be read"),
            (#"{"a": {"schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": []}}"#, "tasks"),
            (#"{"a": {"schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": [{"task": "classify-image"}], "maxResultsPerSecond": -1}}"#, "maxResultsPerSecond"),
            (#"[\#(Self.line3), {"name": "config-1", "schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": [{"task": "classify-image"}]}]"#, "'config-1' is given twice"),
            ("[7]", "entry 0 ('config-1') cannot be read"),
            (String(repeating: "[", count: 100_000), "is not JSON"),
            (#"{"a": {"schema": "s2m3.stream-subscription/1", "source": "cam-1", "tasks": [{"task": "classify-image", "inputs": {"x": 1e400}}]}}"#, "1e400 is not representable"),
        ]
        for (text, expected) in cases {
            let problem = Self.problem(text)
            #expect(problem.hasPrefix("/etc/s2m3/streams.json: "), "\(problem)")
            #expect(problem.contains(expected), "\(text) → \(problem)")
        }
    }

    @Test func missingOrHugeFileIsRefused() throws {
        #expect(throws: StreamSubscriptionFile.Problem.self) { try StreamSubscriptionFile.load(path: "/nonexistent/streams.json") }
        #expect(throws: StreamSubscriptionFile.Problem.self) { try StreamSubscriptionFile.load(path: NSTemporaryDirectory()) }
        let path = NSTemporaryDirectory() + "s2m3-huge-\(UUID().uuidString.prefix(8)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(StreamSubscriptionFile.maxBytes + 1))
        try handle.close()
        do {
            _ = try StreamSubscriptionFile.load(path: path)
            Issue.record("a file over the limit was read")
        } catch {
            #expect(error.description.contains("at most \(StreamSubscriptionFile.maxBytes)"))
        }
    }

    /// A declared subscription runs from the start; one the catalog cannot serve stops the
    /// aggregator with the same reason a retained one would be refused for.
    @Test func declaredSubscriptionsRunFromTheStart() throws {
        var configuration = AggregatorFixture.configuration()
        configuration.streamSubscriptions = ["line-3": StreamSessionTests.classifyAndMatch]
        var machine = try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
        _ = machine.receivePlan(AggregatorFixture.plan(epoch: 1, [:]), nowMs: 0)
        let (_, out) = StreamSessionTests.answerAll(&machine, StreamSessionTests.frame(&machine, sequence: 0, nowMs: 1_000), nowMs: 1_010)
        #expect(StreamSessionTests.results(out).map(\.task).sorted() == ["classify-image", "match-image-text"])

        // A retained one of the same name replaces it; an empty one ends it.
        let dock = StreamSubscription(source: "cam-2", tasks: [.init(task: "classify-image")])
        #expect(machine.receiveSubscription("line-3", payload: try dock.jsonBytes(), nowMs: 2_000).isEmpty)
        #expect(machine.streamSources == ["cam-2"])
        #expect(machine.receiveSubscription("line-3", payload: [], nowMs: 2_001).isEmpty)
        #expect(machine.streamSources.isEmpty)

        configuration.streamSubscriptions = ["bad": StreamSubscription(source: "cam-1", tasks: [.init(task: "match-image-text")])]
        do {
            _ = try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
            Issue.record("a subscription the catalog cannot serve was taken")
        } catch {
            #expect(error.description.contains("stream subscription 'bad' is refused"), "\(error)")
            #expect(error.description.contains("task 'match-image-text' needs input 'texts' in the subscription"), "\(error)")
        }
    }

    /// The example of docs/streams.md "Subscriptions in a file" is a file the aggregator takes.
    @Test func documentedExampleLoads() throws {
        let document = try String(contentsOf: TestPaths.repository.appendingPathComponent("docs/streams.md"), encoding: .utf8)
        let section = try #require(document.components(separatedBy: "## Subscriptions in a file").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```json\n").dropFirst().first?.components(separatedBy: "```").first)
        let subscriptions = try StreamSubscriptionFile.parse(Data(block.utf8), path: "docs/streams.md")
        #expect(subscriptions.keys.sorted() == ["dock", "line-3"])
        var configuration = AggregatorFixture.configuration()
        configuration.streamSubscriptions = subscriptions
        let machine = try AggregatorStateMachine(configuration: configuration, catalog: AggregatorFixture.catalog)
        #expect(machine.streamSources == ["cam-1", "cam-2"])
    }
}
