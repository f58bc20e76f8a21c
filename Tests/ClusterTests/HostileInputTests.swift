import Foundation
import Synchronization
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

/// Issue 10 against a real cluster: each message that used to kill a service (or vanish without
/// an answer) now gets one explicit answer, and every service process is still running after it.
extension ClusterTests {
    @Test("hostile inputs: every service stays up and every request gets exactly one explicit answer")
    func hostileInputsGetAnswersAndKillNothing() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-memory", "600MB", "--no-restart"])
        do {
            func expectAlive(_ step: String) {
                for (name, pid) in cluster.pids { #expect(kill(pid, 0) == 0, "\(name) died after \(step)") }
            }
            func expectError(_ answer: [String: Any], _ code: String, _ step: String) {
                #expect(answer["schema"] as? String == "s2m3.task-error/1", "\(step): \(answer)")
                #expect(answer["code"] as? String == code, "\(step): \(answer)")
            }
            #expect(cluster.pids.count >= 4, "up printed every service's pid: \(cluster.pids)")
            let wav = HostileMedia.wavRateFFFFFFFF

            // The 48-byte WAV (sample rate 0xFFFFFFFF): refused at intake...
            expectError(try await ExternalClient.request(cluster.endpoint, task: "transcribe", payload: wav, contentType: "audio/wav", id: "h-wav"), "bad-input", "WAV")
            // ...and by a device it is sent to directly, which answers bad-input and keeps running.
            let plan = try await cluster.plan()
            let partial = try await HostileMedia.invoke(cluster, plan: plan, module: "wav-decode", node: "samples", task: "transcribe", file: wav, contentType: MediaType.wav)
            #expect(partial.status == .error && partial.error?.hasPrefix("bad-input:") == true, "\(partial)")
            #expect(partial.error?.contains("4294967295 Hz") == true, "\(partial.error ?? "")")
            // A 16000 × 16000 PNG header: refused by the device before it allocates anything.
            let png = HostileMedia.png(width: 16_000, height: 16_000)
            let pixels = try await HostileMedia.invoke(cluster, plan: plan, module: "image-preprocess", node: "pixels", task: "classify-image", file: png, contentType: MediaType.png)
            #expect(pixels.status == .error && pixels.error?.hasPrefix("bad-input:") == true && pixels.error?.contains("pixels") == true, "\(pixels)")
            expectError(try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: png, contentType: "image/png", id: "h-png"), "bad-input", "PNG")
            expectAlive("the WAV and PNG")

            // Numbers and sizes the aggregator used to crash on or never answer.
            let json = { (text: String) in Array(text.utf8) }
            let timeout = json(#"{"schema":"s2m3.task-request/1","inputs":{"text":"hi"},"timeoutMs":9223372036854775807}"#)
            expectError(try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: timeout, contentType: "application/json", id: "h-timeout"), "malformed-request", "timeoutMs")
            let longID = json(#"{"schema":"s2m3.task-request/1","requestId":"\#(String(repeating: "x", count: 4_100))","inputs":{"text":"hi"}}"#)
            expectError(try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: longID, contentType: "application/json", id: "h-long-id"), "malformed-request", "4,100-character id")
            expectError(try await ExternalClient.request(cluster.endpoint, task: "", payload: try Self.file("chelsea.jpg"), contentType: "image/jpeg", id: "h-empty-task"), "unknown-task", "empty task")
            var many = TensorBundle()
            for index in 0..<10_000 { try many.set(BundleTensor(uint8s: [1], shape: [1]), named: "t\(index)") }
            expectError(try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: many.encoded(), contentType: TensorBundle.contentType, id: "h-many"), "malformed-request", "10,000 tensors")
            expectAlive("the hostile requests")

            // Two sensors may both say req-1; the same sensor saying it again, once answered, gets
            // the same answer again (not a second run: the same completion time).
            let photo = try Self.file("chelsea.jpg")
            var first: [String: [String: Any]] = [:]
            for sensor in ["sensor-a", "sensor-b"] {
                let answer = try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: photo, contentType: "image/jpeg", id: "req-1", client: sensor)
                #expect(answer["schema"] as? String == "s2m3.task-result/1" && answer["requestId"] as? String == "req-1", "\(sensor): \(answer)")
                first[sensor] = answer
            }
            let repeated = try await ExternalClient.request(cluster.endpoint, task: "classify-image", payload: photo, contentType: "image/jpeg", id: "req-1", client: "sensor-a")
            #expect(repeated["schema"] as? String == "s2m3.task-result/1" && repeated["requestId"] as? String == "req-1", "repeat: \(repeated)")
            #expect((repeated["completedAtMs"] as? Int).map { $0 == first["sensor-a"]?["completedAtMs"] as? Int } == true, "repeat: \(repeated)")

            // A burst of 8 MiB requests: past the in-flight limit they are answered `overloaded` at
            // once; every one gets exactly one answer and the aggregator's memory stays bounded.
            // The devices are stopped while it arrives, so the first requests stay in flight
            // (otherwise fast bad-input answers may free room as quickly as requests arrive).
            let aggregator = try #require(cluster.pids["agg-1"])
            // 24 × 8 MiB stays below the broker's own queue limit for one subscriber
            // (broker-config/dev.conf: max_queued_bytes 256 MiB), past which Mosquitto drops
            // messages before they reach the aggregator (docs: MQTT has no end-to-end backpressure).
            let devices = cluster.pids.filter { $0.key.hasPrefix("box-") }.map(\.value)
            let burst = try await HostileMedia.burst(cluster, count: 24, bytes: 8 << 20, holding: devices)
            #expect(burst.answers.count == 24 && burst.answers.values.allSatisfy { $0.count == 1 }, "\(burst.answers.filter { $0.value.count != 1 })")
            let codes = burst.answers.values.flatMap { $0 }
            #expect(codes.contains("overloaded"), "\(codes)")
            #expect(codes.allSatisfy { ["overloaded", "bad-input"].contains($0) }, "\(codes)")
            let rss = HostileMedia.residentBytes(aggregator)
            // 140–165 MiB measured (base ~30 MiB, 64 MiB in flight, delivery buffers); without the
            // limit every request is held and parsed at once (539 MB for 60 × 8 MiB in issue 10).
            #expect(rss < 256 << 20, "the aggregator holds \(rss >> 20) MiB after the burst")
            expectAlive("the burst")

            // A retained plan with the largest epoch: readers ignore it; the next re-plan (a device
            // is killed) replaces it with a valid plan and the planner keeps running.
            let planner = try #require(cluster.pids["planner"])
            var bogus = String(decoding: try plan.jsonBytes(), as: UTF8.self)
            bogus = bogus.replacingOccurrences(of: #""epoch":\#(plan.epoch)"#, with: #""epoch":9223372036854775807"#)
            #expect(bogus.contains("9223372036854775807"))
            let publisher = cluster.connection("hostile-plan")
            try await publisher.connect()
            try await publisher.publish(MQTTMessage(topic: Topics().plan, payload: Array(bogus.utf8), retain: true))
            await publisher.disconnect()
            let victim = try #require(cluster.pids.first { $0.key.hasPrefix("box-") })
            kill(victim.value, SIGKILL)
            let replanned = try await within(.seconds(30), "a valid plan without \(victim.key)") {
                while true {
                    if let next = try? await cluster.plan(), !next.devices.contains(victim.key) { return next }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(replanned.epoch >= 1 && replanned.epoch < 1_000, "\(replanned.epoch)")
            #expect(kill(planner, 0) == 0, "the planner survived the retained plan")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

/// A direct invocation of one device, and a burst of requests (the media are TestSupport's).
extension HostileMedia {
    /// Publishes `count` bare "JPEG" requests of `bytes` each (a JPEG signature, then zeros) as
    /// fast as the broker takes them, each with its own id, and collects the error codes answered
    /// per id on one response topic (waiting a moment for any second answer).
    ///
    /// The processes `holding` are stopped (SIGSTOP) before the first request and continued at the
    /// first `overloaded` answer, or 8 s after the last request was sent, whichever comes first
    /// (well within their 10 s keep-alive).
    static func burst(_ cluster: UpCluster, count: Int, bytes: Int, holding: [Int32] = []) async throws -> (answers: [String: [String]], seconds: Double) {
        let connection = cluster.connection("hostile-burst")
        try await connection.connect()
        let held = HeldProcesses(holding)
        let outcome: Result<(answers: [String: [String]], seconds: Double), any Error>
        do { outcome = .success(try await burst(on: connection, count: count, bytes: bytes, held: held)) } catch { outcome = .failure(error) }
        held.resume()
        await connection.disconnect()
        return try outcome.get()
    }

    private static func burst(on connection: MQTTConnection, count: Int, bytes: Int, held: HeldProcesses) async throws -> (answers: [String: [String]], seconds: Double) {
        let topics = Topics()
        let inbox = connection.messages
        let reply = topics.clientReplies("hostile-burst")
        try await connection.subscribe(reply)
        let payload = [0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0, count: bytes - 3)
        let start = ContinuousClock.now
        for index in 0..<count {
            try await connection.publish(MQTTMessage(
                topic: topics.requests("classify-image"), payload: payload,
                properties: MQTTProperties(contentType: MediaType.jpeg, correlationData: Array("burst-\(index)".utf8), responseTopic: reply)))
        }
        let sent = ContinuousClock.now - start
        let fallback = Task { try? await Task.sleep(for: .seconds(8)); held.resume() }
        defer { fallback.cancel() }
        let answers = try await within(.seconds(60), "an answer to each of \(count) requests") {
            var answers: [String: [String]] = [:]
            var total = 0
            for await message in inbox {
                let object = try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
                let code = object?["code"] as? String ?? "result"
                if code == "overloaded" { held.resume() }
                answers[String(decoding: message.properties.correlationData ?? [], as: UTF8.self), default: []].append(code)
                total += 1
                if total == count { break }
            }
            return answers
        }
        try await Task.sleep(for: .seconds(1))  // a second answer would arrive by now
        return (answers, Double(sent.components.seconds) + Double(sent.components.attoseconds) * 1e-18)
    }

    /// Processes stopped until ``resume()`` (called at most once in effect, from any task).
    final class HeldProcesses: Sendable {
        private let pids: [Int32]
        private let resumed = Mutex(false)

        init(_ pids: [Int32]) {
            self.pids = pids
            for pid in pids { kill(pid, SIGSTOP) }
        }

        func resume() {
            guard !resumed.withLock({ let was = $0; $0 = true; return was }) else { return }
            for pid in pids { kill(pid, SIGCONT) }
        }
    }

    /// VmRSS of process `pid`, bytes (0 when it cannot be read).
    static func residentBytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Sends `file` straight to a device hosting `module` (as an aggregator would) and returns its answer.
    static func invoke(
        _ cluster: UpCluster, plan: PlanMessage, module: String, node: String, task: String, file: [UInt8], contentType: String
    ) async throws -> PartialResult {
        let device = try #require(plan.placement[module]?.first, "\(module) is placed: \(plan.placement)")
        let connection = cluster.connection("hostile-invoke")
        try await connection.connect()
        let outcome: Result<PartialResult, any Error>
        do {
            outcome = .success(try await invoke(
                on: connection, plan: plan, device: device, module: module, node: node, task: task, file: file, contentType: contentType))
        } catch {
            outcome = .failure(error)
        }
        await connection.disconnect()
        return try outcome.get()
    }

    private static func invoke(
        on connection: MQTTConnection, plan: PlanMessage, device: String, module: String, node: String, task: String,
        file: [UInt8], contentType: String
    ) async throws -> PartialResult {
        let topics = Topics()
        let inbox = connection.messages
        let replyTo = "hostile-\(UInt32.random(in: 0...UInt32.max))"
        try await connection.subscribe(topics.allAggregatorPartials(replyTo))
        var inputs = TensorBundle()
        try inputs.setMedia(file, contentType: contentType, named: "file")
        let nowMs = Int(Date().timeIntervalSince1970 * 1000)
        let invoke = InvokeRequest(
            requestID: "hostile-\(node)", task: task, node: node, module: module, epoch: plan.epoch, replyTo: replyTo, deadlineMs: nowMs + 30_000)
        try await connection.publish(MQTTMessage(
            topic: topics.moduleInvoke(module: module, device: device), payload: try invoke.bundle(inputs: inputs).encoded(),
            properties: MQTTProperties(
                contentType: TensorBundle.contentType, correlationData: Array(invoke.requestID.utf8),
                responseTopic: topics.aggregatorPartials(replyTo, device: device), messageExpiry: 30)))
        return try await within(.seconds(30), "\(device)'s answer to the \(module) invocation") {
            for await message in inbox { return try PartialResult(bundle: TensorBundle(decoding: message.payload)) }
            throw ClusterTestError("no answer from \(device)")
        }
    }
}

/// `s2m3 plan` as a user runs it, on the instances that crashed it (issue 10): each now exits 1
/// with a message naming the field, instead of dying on a signal or printing a NaN objective.
@Suite("s2m3 plan on hostile instances")
struct PlanCommandHostileTests {
    static let device = #"{"id": "d", "memoryBytes": 1000000000, "gflops": 10, "link": {"bandwidthMbps": 100, "latencyMs": 1}}"#
    static let module = #"{"id": "m", "memoryBytes": 1000, "gflop": 1, "outputBytes": 10}"#
    static let task = #"{"id": "t", "rate": 1, "nodes": [{"id": "n", "module": "m"}]}"#

    static func instance(devices: String = device, modules: String = module, tasks: String = task) -> String {
        #"{"devices": [\#(devices)], "modules": [\#(modules)], "tasks": [\#(tasks)]}"#
    }

    enum Hostile: String, CaseIterable, Sendable {
        case parameters, deviceMemory, deepCycle, priority

        var json: String {
            switch self {
            case .parameters:
                PlanCommandHostileTests.instance(modules: #"{"id": "m", "parameters": 8e18, "bytesPerParameter": 2, "gflop": 1, "outputBytes": 10}"#)
            case .deviceMemory:
                PlanCommandHostileTests.instance(devices: ["d1", "d2"].map {
                    #"{"id": "\#($0)", "memoryBytes": 5e18, "gflops": 10, "link": {"bandwidthMbps": 100, "latencyMs": 1}}"#
                }.joined(separator: ","))
            case .deepCycle:
                PlanCommandHostileTests.instance(tasks: #"{"id": "t", "rate": 1, "nodes": [\#((0..<60_000).map { #"{"id": "n\#($0)", "module": "m", "inputs": ["n\#(($0 + 1) % 60_000)"]}"# }.joined(separator: ","))]}"#)
            case .priority:
                PlanCommandHostileTests.instance(tasks: #"{"id": "t", "rate": 1, "priority": 1e308, "nodes": [{"id": "n", "module": "m"}]}"#)
            }
        }

        /// What the error message must name.
        var mentions: String {
            switch self {
            case .parameters: "parameters"
            case .deviceMemory: "memoryBytes"
            case .deepCycle: "60000 nodes"
            case .priority: "priority"
            }
        }
    }

    @Test(arguments: Hostile.allCases)
    func exitsWithAnErrorNamingTheField(_ hostile: Hostile) async throws {
        let directory = NSTemporaryDirectory() + "s2m3-plan-hostile-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/instance.json", errors = directory + "/stderr.txt"
        try Data(hostile.json.utf8).write(to: URL(fileURLWithPath: input))
        let plan = try ChildProcess.spawn(
            try TestPaths.s2m3Executable, ["plan", "--instance", input], stdout: .null, stderr: .appendToFile(errors))
        let status = await plan.waitUntilExit()
        let message = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(status == 1, "\(hostile): exit status \(status.map(String.init) ?? "-") (≥ 128 is a signal); stderr: \(message.prefix(500))")
        #expect(message.contains(hostile.mentions), "\(hostile): \(message.prefix(500))")
    }
}
