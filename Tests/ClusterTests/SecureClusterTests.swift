import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

/// `s2m3 up --secure`: the whole cluster on broker-config/secure.conf (TLS, a password per identity,
/// the ACL) with credentials made by make-credentials.sh, and `s2m3 request` finding it through
/// `cluster.env` with no --broker: one request per task, answered on the client's own reply topic.
@Suite("Secure local cluster end to end", .serialized)
struct SecureClusterTests {
    static let catalog = TestPaths.repository.appendingPathComponent("catalog/default.json").path

    static func fixture(_ name: String) -> String { TestPaths.cache.appendingPathComponent("fixtures/\(name)").path }

    /// One `s2m3 request` per task of the default catalog, as command-line inputs.
    static let requests: [(task: String, inputs: [String])] = [
        ("classify-image", ["--image", fixture("chelsea.jpg")]),
        ("match-image-text", ["--image", fixture("coffee.jpg"), "--text", "a cat", "--text", "a cup of espresso"]),
        ("transcribe", ["--audio", fixture("sentence-inspection.wav")]),
        ("voice-command", ["--audio", fixture("cmd-open-gate.wav")]),
        ("read-text", ["--image", fixture("ocr-inspection.png")]),
        ("describe-scene", ["--image", fixture("chelsea.jpg"), "--audio", fixture("cmd-stop-line.wav")]),
    ]

    /// `KEY=value` lines of cluster.env.
    static func values(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        return values
    }

    /// In the running cluster, with the credentials `up --secure` made: the `client` identity,
    /// connecting under box-1's client id, does not take over box-1's connection, reads no
    /// invocation, partial, assignment or telemetry, and may not write a device's state, a partial or
    /// the plan; after it, the cluster still has both devices on the same plan and answers.
    static func expectLeastPrivilege(_ cluster: UpCluster, credentials: String) async throws {
        let topics = Topics()
        var configuration = MQTTConfiguration(endpoints: [cluster.endpoint], clientID: "box-1")
        configuration.username = "client"
        configuration.password = try String(contentsOfFile: credentials + "/client.password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        configuration.tls = MQTTTLSConfiguration(caFile: credentials + "/ca.crt")
        /// The retained plan, read as the client identity (which may read it).
        func plan() async throws -> PlanMessage {
            let connection = MQTTConnection(configuration: configuration, logger: UpCluster.logger)
            try await connection.connect()
            let inbox = connection.messages
            try await connection.subscribe(topics.plan)
            let payload = try await within(.seconds(10), "the retained plan") {
                for await message in inbox where !message.payload.isEmpty { return message.payload }
                throw ClusterTestError("no plan")
            }
            await connection.disconnect()
            return try PlanMessage(json: payload)
        }
        let before = try await plan()
        let imposter = MQTTConnection(configuration: configuration, logger: UpCluster.logger)
        try await imposter.connect()
        let inbox = imposter.messages
        // A client may read every service's presence and telemetry (what `s2m3 status` shows), never
        // their work: invocations, partials, assignments.
        for filter in ["\(topics.root)/modules/#", "\(topics.root)/aggregators/+/partials/#", "\(topics.root)/devices/+/assignment"] {
            try await imposter.subscribe(filter)
        }
        for topic in [topics.deviceState("box-1"), topics.aggregatorPartials("agg-1", device: "box-1"), topics.plan, topics.deviceAssignment("box-2")] {
            do {
                try await imposter.publish(MQTTMessage(topic: topic, string: "{}"))
                Issue.record("the client identity wrote \(topic)")
            } catch let error as MQTTError {
                #expect(error.code == .publishRefused && error.reasonCode == 0x87, "\(topic): \(error)")
            }
        }
        // Retained assignments arrive at once and the cluster keeps working meanwhile:
        // 2.5 s of silence shows the subscriptions deliver nothing.
        let leaked = try? await within(.milliseconds(2500), "a message to the imposter") {
            for await message in inbox { return message.topic }
            throw ClusterTestError("the imposter's inbox ended")
        }
        #expect(leaked == nil, "the client identity read \(leaked ?? "")")
        await imposter.disconnect()
        let log = try String(contentsOfFile: try #require(cluster.brokerLog), encoding: .utf8)
        #expect(!log.contains("already connected"), "the broker closed a connection for a duplicate client id")
        #expect(log.contains("as box-1 ("), "box-1 connected under its identity")
        let after = try await plan()
        #expect(after.epoch == before.epoch && after.devices == ["box-1", "box-2"], "plan \(before.epoch) → \(after.epoch): \(after.devices)")
    }

    @Test(.timeLimit(.minutes(10)))
    func everyTaskIsAnsweredThroughTheSecureBrokerWithSettingsFromClusterEnv() async throws {
        let cluster = try await UpCluster(["--secure", "--devices", "2", "--device-memory", "1.5GB", "--device-gflops", "100"])
        let clusterFile = cluster.cache + "/cluster.env"
        var credentials: String?
        do {
            let settings = Self.values(try String(contentsOfFile: clusterFile, encoding: .utf8))
            #expect(settings["S2M3_MQTT_BROKER"] == cluster.endpoint.description)
            #expect(settings["S2M3_MQTT_USERNAME"] == "client")
            let ca = try #require(settings["S2M3_MQTT_TLS_CA"])
            let password = try #require(settings["S2M3_MQTT_PASSWORD_FILE"])
            credentials = (ca as NSString).deletingLastPathComponent
            #expect(FileManager.default.isReadableFile(atPath: ca) && FileManager.default.isReadableFile(atPath: password))

            // No --broker, no TLS or login options: all from cluster.env. Any inherited
            // password variable is blanked so the file's login is the one used.
            let environment = ["S2M3_CACHE": cluster.cache, "S2M3_MQTT_PASSWORD": "", "S2M3_MQTT_USERNAME": ""]
            for (task, inputs) in Self.requests {
                let outcome = try await S2M3Run.run(
                    ["request", task, "--catalog", Self.catalog, "--json", "--timeout-ms", "60000"] + inputs,
                    environment: environment, limit: .seconds(120))
                #expect(outcome.status == 0, "\(task): \(outcome.output)")
                #expect(outcome.output.contains(TaskResult.schema), "\(task): \(outcome.output)")
            }

            // An explicit --broker wins over cluster.env (nothing listens on port 1).
            let explicit = try await S2M3Run.run(
                ["request", "classify-image", "--catalog", Self.catalog, "--image", Self.fixture("chelsea.jpg"), "--broker", "127.0.0.1:1"],
                environment: environment)
            #expect(explicit.status != 0)
            #expect(explicit.output.contains("127.0.0.1:1"), "\(explicit.output)")
            #expect(explicit.output.contains("brokerUnreachable"), "\(explicit.output)")

            // The broker checks passwords per user: the client's password does not log in as
            // `device`, and the refusal names the user.
            try await Self.expectLeastPrivilege(cluster, credentials: try #require(credentials))

            // From outside, as `up` prints it: mosquitto_rr as the client identity with a JSON
            // request (its photo base64), answered on that identity's own reply topic (one
            // connection: the broker makes the user name the client id, so a separate mosquitto_sub
            // and mosquitto_pub would replace each other; mosquitto_rr 2.0.11 sends only -m).
            let photo = try Data(contentsOf: URL(fileURLWithPath: Self.fixture("chelsea.jpg"))).base64EncodedString()
            let json = #"{"schema":"s2m3.task-request/1","requestId":"req-1","inputs":{"image":{"contentType":"image/jpeg","data":""#
                + photo + #""}}}"#
            let login = ["-V", "mqttv5", "-h", cluster.endpoint.host, "-p", String(cluster.endpoint.port), "--cafile", ca, "-u", "client",
                         "-P", try String(contentsOfFile: password, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)]
            let rr = try ChildProcess.spawn(
                "/usr/bin/mosquitto_rr",
                login + ["-q", "1", "-t", Topics().requests("classify-image"), "-e", Topics().clientReplies("client"),
                         "-D", "publish", "content-type", "application/json", "-m", json, "-W", "60"],
                stdout: .pipe, stderr: .null)
            let rrLines = rr.outputLines()
            var answer = ""
            for await line in rrLines { answer += line }
            #expect(await rr.waitUntilExit() == 0 && answer.contains(TaskResult.schema), "mosquitto_rr: \(answer.prefix(300))")

            let forbidden = try await S2M3Run.run(
                ["request", "classify-image", "--catalog", Self.catalog, "--image", Self.fixture("chelsea.jpg"),
                 "--username", "device", "--password-file", (password as NSString).deletingLastPathComponent + "/client.password"],
                environment: environment)
            #expect(forbidden.output.contains("refused user 'device'"), "\(forbidden.output)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
        #expect(!FileManager.default.fileExists(atPath: clusterFile), "up removes cluster.env when it stops")
        if let credentials { #expect(!FileManager.default.fileExists(atPath: credentials), "up removes its credentials when it stops") }
    }
}
