import Foundation
import LocalBroker
import MQTTBus

/// How the parts of `s2m3 up` reach its broker: the arguments each service is started with, the
/// configuration of `up`'s own connections and of the demo, and what goes into `cluster.env`.
///
/// A broker `up` starts with `--secure` gets fresh credentials (``UpCredentials``) and every
/// service logs in with its own identity (`planner`, `agg-1`, each device's id; `up` itself
/// follows the cluster as the monitors `up` and `up-plans`, the demo and `cluster.env` use
/// `client`). An existing broker (`--broker`) is reached with the TLS and login options given to
/// `up`, the same for every service.
public struct UpBrokerAccess: Sendable {
    public let endpoint: MQTTEndpoint
    public let credentials: UpCredentials?
    /// For an existing broker: the checked configuration and the options that give it.
    private let external: (configuration: MQTTBrokerConfiguration, arguments: [String], tlsCA: String?, username: String?, passwordFile: String?)?

    public var scheme: String {
        credentials != nil || external?.configuration.tls != nil ? "mqtts" : "mqtt"
    }

    /// An existing broker: its checked configuration, and the options (`--tls-ca`, `--username`,
    /// … with absolute paths) that give every service the same. A password from
    /// `$S2M3_MQTT_PASSWORD` reaches the services through their environment.
    public static func external(
        _ configuration: MQTTBrokerConfiguration, arguments: [String], tlsCA: String?, passwordFile: String?
    ) -> UpBrokerAccess {
        UpBrokerAccess(
            endpoint: configuration.endpoints[0], credentials: nil,
            external: (configuration, arguments, tlsCA, configuration.username, passwordFile))
    }

    public static func local(_ endpoint: MQTTEndpoint, credentials: UpCredentials?) -> UpBrokerAccess {
        UpBrokerAccess(endpoint: endpoint, credentials: credentials, external: nil)
    }

    /// `--broker` and, where needed, TLS and login for an `s2m3` service running as `identity`.
    public func serviceArguments(identity: String) -> [String] {
        var arguments = ["--broker", endpoint.description]
        if let credentials {
            arguments += ["--tls-ca", credentials.caFile, "--username", identity, "--password-file", credentials.passwordFile(identity)]
        } else if let external {
            arguments += external.arguments
        }
        return arguments
    }

    /// The configuration of a connection `up` makes itself as `identity`.
    public func configuration(identity: String) throws -> MQTTBrokerConfiguration {
        if let external { return external.configuration }
        guard let credentials else { return MQTTBrokerConfiguration(endpoints: [endpoint]) }
        return try MQTTBrokerConfiguration(
            endpoints: [endpoint], tlsCA: credentials.caFile, username: identity, passwordFile: credentials.passwordFile(identity),
            environment: [:])
    }

    /// What the other commands need to reach this broker as a client.
    public func clusterFile(root: String) -> ClusterEnvironmentFile {
        if let credentials {
            return ClusterEnvironmentFile(
                broker: endpoint.description, root: root, tlsCA: credentials.caFile, username: UpCredentials.client,
                passwordFile: credentials.passwordFile(UpCredentials.client))
        }
        return ClusterEnvironmentFile(
            broker: endpoint.description, root: root, tlsCA: external?.tlsCA, username: external?.username,
            passwordFile: external?.passwordFile)
    }
}

/// Throw-away credentials for `up --secure`: `broker-config/make-credentials.sh` run into a new
/// private folder (a test CA, the broker's certificate for localhost/127.0.0.1, one password per
/// identity of the cluster in `<identity>.password`, the ACL for exactly those identities),
/// removed when `up` stops.
public struct UpCredentials: Sendable {
    public static let client = "client"
    public static let planner = "planner"
    public static let aggregator = "agg-1"
    /// `up`'s own connections: one following readiness and telemetry, one printing plan changes
    /// (two identities, since the broker makes the user name the client id).
    public static let monitors = ["up", "up-plans"]
    public let directory: String

    public var caFile: String { directory + "/ca.crt" }
    public func passwordFile(_ role: String) -> String { directory + "/\(role).password" }

    /// Runs make-credentials.sh into a new folder under the temporary directory; its output goes
    /// to `<logDirectory>/make-credentials.log`.
    public static func make(logDirectory: String, devices: [String]) async throws -> UpCredentials {
        let script = try BrokerConfigLocator.find("make-credentials.sh")
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("s2m3-up-secrets-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LocalClusterError(.configuration, "cannot create a folder for the credentials: \(String(cString: strerror(errno)))")
        }
        let credentials = UpCredentials(directory: String(cString: made))
        let log = (logDirectory as NSString).appendingPathComponent("make-credentials.log")
        let process = try ChildProcess.spawn("/bin/bash", [
            script, "--force", "--devices", devices.joined(separator: " "), "--aggregators", aggregator, "--planners", planner,
            "--clients", client, "--monitors", monitors.joined(separator: " "), credentials.directory,
        ], stdout: .appendToFile(log), stderr: .appendToFile(log))
        let status = await process.waitUntilExit()
        let missing = ["ca.crt", "server.crt", "passwd", "client.password"].filter {
            !FileManager.default.fileExists(atPath: credentials.directory + "/" + $0)
        }
        guard status == 0, missing.isEmpty else {
            credentials.remove()
            let absent = missing.isEmpty ? "" : "; missing " + missing.joined(separator: ", ")
            throw LocalClusterError(.configuration, "\(script) failed (status \(status ?? -1)\(absent)): \(ClusterProcesses.logTail(log))")
        }
        return credentials
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
