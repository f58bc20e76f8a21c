import Foundation
import LocalBroker
import MQTTBus
import S2M3Core
import Testing

/// `mosquitto_pub` and `mosquitto_sub`: a client that knows nothing of S2M3's code, only topics.md.
enum ExternalClient {
    /// Publishes `payload` as a request for `task` with a response topic and correlation data, and
    /// returns the JSON answer (a result or an error) `mosquitto_sub` received on the response topic.
    /// `client` names the reply topic (`clients/external-{client}/replies`; default: the id), so
    /// two clients can send the same request id.
    static func request(
        _ endpoint: MQTTEndpoint, task: String, payload: [UInt8], contentType: String?, id: String, client: String? = nil
    ) async throws -> [String: Any] {
        let topics = Topics()
        let reply = topics.clientReplies("external-\(client ?? id)")
        let file = NSTemporaryDirectory() + "s2m3-external-\(client ?? id)-\(UUID().uuidString.prefix(8))"
        try Data(payload).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let host = ["-V", "mqttv5", "-h", endpoint.host, "-p", String(endpoint.port)]
        let subscriber = try ChildProcess.spawn(
            "/usr/bin/mosquitto_sub", host + ["-t", reply, "-C", "1", "-W", "90"], stdout: .pipe, stderr: .null)
        let lines = subscriber.outputLines()
        try await Task.sleep(for: .milliseconds(300))  // subscribed before publishing
        var publish = host + ["-q", "1", "-t", topics.requests(task), "-f", file,
                              "-D", "publish", "response-topic", reply, "-D", "publish", "correlation-data", id]
        if let contentType { publish += ["-D", "publish", "content-type", contentType] }
        let publisher = try ChildProcess.spawn("/usr/bin/mosquitto_pub", publish, stdout: .null, stderr: .null)
        #expect(await publisher.waitUntilExit() == 0, "mosquitto_pub failed")
        var text = ""
        for await line in lines { text += line }
        _ = await subscriber.waitUntilExit()
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ClusterTestError("mosquitto_sub received no JSON answer for \(id): '\(text.prefix(200))'")
        }
        return object
    }
}
