import Catalog
import DeviceAgent
import Foundation
import LocalBroker
import Logging
import MQTTBus
import S2M3Bus
import S2M3Core
import TestSupport
import Testing

/// A real Mosquitto, a real `s2m3 device` child process, and a watcher connection that records
/// every message under the test's own topic root.
struct AgentHarness: Sendable {
    let broker: MosquittoProcess
    let topics: Topics
    let device: String
    let child: ChildProcess
    let client: MQTTConnection
    let inbox: Inbox
    /// The aggregator id invocations name as reply-to.
    let aggregator = "agg-test"

    static let logger = TestBroker.logger("DeviceAgentTests")

    static var modelsDirectory: String { TestPaths.cache.appendingPathComponent("models").path }
    static var catalogPath: String { TestPaths.repository.appendingPathComponent("catalog/default.json").path }

    /// The default catalog, as the agent reads it.
    static func catalog() throws -> ModuleCatalog {
        let document = try JSONDecoder().decode(CatalogDocument.self, from: Data(contentsOf: URL(fileURLWithPath: catalogPath)))
        return try ModuleCatalog(document: document, modelsDirectory: modelsDirectory)
    }

    /// Runs `body` with a fresh broker, a watcher, and an agent started with `arguments` added.
    static func with(
        device: String, arguments: [String], catalog: String = AgentHarness.catalogPath, brokerLines: [String] = [],
        _ body: @Sendable (AgentHarness) async throws -> Void
    ) async throws {
        try await TestBroker.withDev(extraLines: brokerLines) { broker in
            let topics = Topics(root: TestBroker.unique("device-test") + "/v1")
            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            let client = MQTTConnection(
                configuration: MQTTConfiguration(endpoints: [endpoint], clientID: "watch-\(UUID().uuidString.prefix(8))"),
                logger: logger)
            try await client.connect()
            let inbox = Inbox()
            let stream = client.messages
            let collector = Task {
                for await message in stream { await inbox.append(message) }
            }
            defer { collector.cancel() }
            try await client.subscribe("\(topics.root)/#")
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("device-agent-\(device)-\(getpid()).log").path
            let child = try ChildProcess.spawn(
                try TestPaths.s2m3Executable,
                ["device", "--broker", endpoint.description, "--root", topics.root, "--id", device,
                 "--catalog", catalog, "--models", modelsDirectory] + arguments,
                stdout: .null, stderr: .appendToFile(log))
            defer { if !child.hasExited { child.send(SIGKILL) } }
            let harness = AgentHarness(broker: broker, topics: topics, device: device, child: child, client: client, inbox: inbox)
            try await body(harness)
            await client.disconnect()
        }
    }

    /// Waits until a recorded message gives a value (every recorded message is offered, oldest first).
    func wait<T: Sendable>(
        _ what: String, within limit: Duration = .seconds(15), _ match: @Sendable (MQTTMessage) throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + limit
        var checked = 0
        while true {
            let messages = await inbox.messages(from: checked)
            for message in messages {
                if let value = try match(message) { return value }
            }
            checked += messages.count
            if ContinuousClock.now > deadline { throw TimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The agent's exit status, or nil (and the agent SIGKILLed) when it has not exited within `limit`.
    func exitStatus(within limit: Duration = .seconds(15)) async -> Int32? {
        let child = self.child
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await child.waitUntilExit() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        if status == nil { child.send(SIGKILL) }
        return status
    }

    /// The next telemetry satisfying `condition`, within `limit` (long enough for an assignment to be
    /// applied on a busy machine: loading includes each module's warm-up run).
    func telemetry(
        _ what: String, within limit: Duration = .seconds(60), _ condition: @escaping @Sendable (DeviceTelemetry) -> Bool
    ) async throws -> DeviceTelemetry {
        try await wait("telemetry: \(what)", within: limit) { message in
            guard message.topic == topics.deviceTelemetry(device), let telemetry = try? DeviceTelemetry(json: message.payload) else {
                return nil
            }
            return condition(telemetry) ? telemetry : nil
        }
    }

    func assign(epoch: Int, _ modules: [DeviceAssignment.HostedModule]) async throws {
        let assignment = DeviceAssignment(epoch: epoch, device: device, modules: modules, timestampMs: Self.nowMs())
        try await client.publish(MQTTMessage(
            topic: topics.deviceAssignment(device), payload: try assignment.jsonBytes(), retain: true,
            properties: MQTTProperties(assignment.properties())))
    }

    /// Publishes an invocation of `module` with `inputs`.
    func invoke(
        _ module: String, requestID: String, node: String = "n", attempt: Int = 1, inputs: TensorBundle,
        deadlineMs: Int? = nil, traceparent: String? = nil
    ) async throws {
        let request = InvokeRequest(
            requestID: requestID, task: "test-task", node: node, module: module, epoch: 1, attempt: attempt,
            replyTo: aggregator, deadlineMs: deadlineMs ?? Self.nowMs() + 20_000, traceparent: traceparent)
        let now = Self.nowMs()
        try await client.publish(MQTTMessage(
            topic: topics.moduleInvoke(module: module, device: device), payload: try request.bundle(inputs: inputs).encoded(),
            properties: MQTTProperties(request.properties(topics: topics, device: device, nowMs: now))))
    }

    /// Every partial answer to `requestID` recorded so far.
    func partials(_ requestID: String) async -> [(PartialResult, TensorBundle, MQTTMessage)] {
        await inbox.messages(from: 0).compactMap { message in
            guard message.topic == topics.aggregatorPartials(aggregator, device: device),
                let bundle = try? TensorBundle(decoding: message.payload), let partial = try? PartialResult(bundle: bundle),
                partial.requestID == requestID
            else { return nil }
            return (partial, bundle, message)
        }
    }

    /// The first partial answer to `requestID`.
    func partial(_ requestID: String) async throws -> (PartialResult, TensorBundle, MQTTMessage) {
        try await wait("the partial of \(requestID)") { message in
            guard message.topic == topics.aggregatorPartials(aggregator, device: device), let bundle = try? TensorBundle(decoding: message.payload),
                let partial = try? PartialResult(bundle: bundle)
            else { return nil }
            return partial.requestID == requestID ? (partial, bundle, message) : nil
        }
    }

    static func nowMs() -> Int { Int(Date().timeIntervalSince1970 * 1000) }
}

/// Messages recorded by the watcher, in arrival order.
actor Inbox {
    private var recorded: [MQTTMessage] = []
    func append(_ message: MQTTMessage) { recorded.append(message) }
    func messages(from index: Int) -> [MQTTMessage] { index < recorded.count ? Array(recorded[index...]) : [] }
}
