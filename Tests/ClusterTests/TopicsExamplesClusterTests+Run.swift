import Catalog
import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import TestSupport
import Testing

extension TopicsExamplesClusterTests {
    /// Runs a shell example in `directory` (where `cat.jpg` is a fixture photo) and returns the JSON
    /// answer its `mosquitto_sub` printed.
    static func runShell(_ script: String, in directory: String, example: String) async throws -> [String: Any] {
        try await run(script, interpreter: "bash", fileExtension: "sh", in: directory, example: example)
    }

    /// The Python of topics.md's examples: the venv of scripts/setup.d/27-python-clients.sh.
    static var python: String { TestPaths.cache.appendingPathComponent("venv-clients/bin/python").path }

    /// Runs a Python example as written in `directory` (where `cat.jpg` is a fixture photo), with
    /// `suffix` after it (what the example leaves to its reader: waiting for the answer, or sending
    /// the payload it built), and returns the JSON answer the suffix printed on its last line.
    static func runPython(_ script: String, suffix: String, in directory: String, example: String) async throws -> [String: Any] {
        try await run(script + "\n\n# The test's own ending.\n" + suffix, interpreter: "'\(python)'", fileExtension: "py", in: directory, example: example)
    }

    /// Writes `script` to a file in `directory`, runs it there with `interpreter` (60 s at most), and
    /// returns the JSON object on the last line of its output.
    private static func run(
        _ script: String, interpreter: String, fileExtension: String, in directory: String, example: String
    ) async throws -> [String: Any] {
        let file = directory + "/example-\(UUID().uuidString.prefix(8)).\(fileExtension)"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let process = try ChildProcess.spawn(
            "/bin/bash", ["-c", "cd '\(directory)' && exec timeout 60 \(interpreter) '\(file)' 2>&1"], stdout: .pipe, stderr: .null)
        var text = ""
        for await line in process.outputLines() { text += line + "\n" }
        let status = await process.waitUntilExit()
        #expect(status == 0, "\(example) exited with \(status.map(String.init) ?? "?"): \(text.suffix(600))")
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw ClusterTestError("\(example) printed no JSON answer: '\(text.suffix(600))'")
        }
        return object
    }

    /// The paho example publishes and leaves `done[0]` to its reader: wait for it and print it.
    static let pahoSuffix = """
        import time
        deadline = time.time() + 50
        while not done and time.time() < deadline:
            time.sleep(0.05)
        print(json.dumps(done[0] if done else {"schema": "no answer within 50 s"}))
        """

    /// The safetensors example builds `payload` and says to publish it with the bundle content type:
    /// publish it to `topic`, answered on the client's own reply topic, and print the answer.
    static func bundleSuffix(topic: String, endpoint: MQTTEndpoint, client: String) -> String {
        """
        import json, threading, time
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        answers, subscribed = [], threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="\(client)", protocol=mqtt.MQTTv5)
        client.on_subscribe = lambda *args: subscribed.set()
        client.on_message = lambda c, u, message: answers.append(json.loads(message.payload))
        client.connect("\(endpoint.host)", \(endpoint.port))
        client.subscribe("\(Topics().clientReplies(client))", qos=1)
        client.loop_start()
        subscribed.wait(10)
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = "\(TensorBundle.contentType)"
        properties.ResponseTopic = "\(Topics().clientReplies(client))"
        client.publish("\(topic)", payload, qos=1, properties=properties).wait_for_publish()
        deadline = time.time() + 50
        while not answers and time.time() < deadline:
            time.sleep(0.05)
        print(json.dumps(answers[0] if answers else {"schema": "no answer within 50 s"}))
        """
    }

    /// The task whose inputs are exactly some of `names`, with every required one among them.
    static func task(taking names: Set<String>, in interfaces: [TaskInterface]) -> String? {
        interfaces.first { interface in
            names.isSubset(of: interface.inputs.map(\.name)) && interface.inputs.allSatisfy { !$0.required || names.contains($0.name) }
        }?.task
    }
}
