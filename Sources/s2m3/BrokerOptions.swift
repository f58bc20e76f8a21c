import ArgumentParser
import Foundation
import LocalCluster
import MQTTBus
import S2M3Core

/// How a command reaches the cluster's broker: `--broker`, `--root`, TLS and login. One group for
/// every command that connects (`device`, `planner`, `aggregator`, `serve`, `request`, `demo`, `status`);
/// it fills an ``MQTTBrokerConfiguration``, which the services and ``S2M3Client`` take.
///
/// Without `--broker`, the address, root, CA and login of a running `s2m3 up` come from
/// ``ClusterEnvironmentFile`` (flags given still win); without either, `127.0.0.1:1883`.
/// The password comes from `--password-file` or `$S2M3_MQTT_PASSWORD`, never from an argument.
struct BrokerOptions: ParsableArguments {
    @Option(help: "Broker address, host:port (default: the running `s2m3 up` from ${S2M3_CACHE:-.cache}/cluster.env, else 127.0.0.1:1883).")
    var broker: String?

    @Option(help: "Topic root (default: s2m3/v1, or the running `s2m3 up`'s).")
    var root: String?

    @Option(help: ArgumentHelp("Connect with TLS, trusting this CA certificate (PEM).", valueName: "file"))
    var tlsCA: String?

    @Option(help: ArgumentHelp("Client certificate (PEM) for brokers that require one; with --tls-key.", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("Private key (PEM, unencrypted) of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Name the broker's certificate must carry when it differs from the --broker host.", valueName: "name"))
    var tlsServerName: String?

    @Option(help: ArgumentHelp("User name (default: $S2M3_MQTT_USERNAME).", valueName: "name"))
    var username: String?

    @Option(help: ArgumentHelp("File whose first line is the password (default: $S2M3_MQTT_PASSWORD).", valueName: "file"))
    var passwordFile: String?

    /// The running `up`'s file, when it applies (no `--broker`).
    private func clusterFile() -> ClusterEnvironmentFile? {
        broker == nil ? ClusterEnvironmentFile.current() : nil
    }

    /// `--root`, else the running `up`'s, else `s2m3/v1`.
    var topicRoot: String { root ?? clusterFile()?.root ?? Topics.defaultRoot }

    /// Checks `--root` once for every command (``Topics/isValidRoot(_:)``).
    func validate() throws {
        if let root, !Topics.isValidRoot(root) {
            throw ValidationError("--root '\(root)' must be identifier segments (letters, digits, '-', '_', '.') separated by '/'")
        }
    }

    /// The broker address, TLS and credentials, checked (files named when missing) and with the
    /// password read.
    func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MQTTBrokerConfiguration {
        let file = clusterFile()
        let address = broker ?? file?.broker ?? "127.0.0.1:1883"
        let endpoint: MQTTEndpoint
        do { endpoint = try MQTTEndpoint(parsing: address) } catch { throw BrokerOptionsError("--broker: \((error as? MQTTError)?.message ?? "\(error)")") }
        let environmentPassword = environment[MQTTBrokerConfiguration.passwordVariable].map { !$0.isEmpty } ?? false
        let environmentUser = environment[MQTTBrokerConfiguration.usernameVariable].map { !$0.isEmpty } ?? false
        do {
            return try MQTTBrokerConfiguration(
                endpoints: [endpoint],
                tlsCA: tlsCA ?? file?.tlsCA, tlsCert: tlsCert, tlsKey: tlsKey, tlsServerName: tlsServerName,
                username: username ?? (environmentUser ? nil : file?.username),
                passwordFile: passwordFile ?? (environmentPassword ? nil : file?.passwordFile),
                environment: environment)
        } catch {
            throw BrokerOptionsError(error.message + (file.map { _ in " (settings from \(ClusterEnvironmentFile.path), written by `s2m3 up`)" } ?? ""))
        }
    }
}

/// A broker option that cannot be used (a missing file, a password without a user name…).
struct BrokerOptionsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A failed connect said in the words of the command line: which flag to check.
enum BrokerConnectHint {
    /// `error` with a hint about the flags when the cause is likely TLS or a plain connection to a
    /// TLS listener.
    static func explain(_ error: Error, broker: MQTTBrokerConfiguration) -> Error {
        guard let mqtt = error as? MQTTError else { return error }
        let hint: String?
        let plain = broker.tls == nil
        if plain, mqtt.code == .connectionLost || mqtt.code == .timeout {
            hint = "if \(broker.endpoints.map(\.description).joined(separator: ", ")) is a TLS listener (e.g. port 8883 of broker-config/secure.conf), pass --tls-ca with the CA that signed its certificate, and --username with --password-file"
        } else if mqtt.code == .tlsFailure || (!plain && mqtt.code == .timeout) {
            hint = "check that --tls-ca (\(broker.tls?.caFile ?? "")) is the CA that signed the broker's certificate and that the certificate names "
                + "'\(broker.tls?.serverName ?? broker.endpoints.first?.host ?? "")' (--tls-server-name when you connect by another name or address)"
        } else if mqtt.code == .connectionRefused {
            hint = broker.username == nil
                ? "the broker wants a login: pass --username and --password-file (or set \(MQTTBrokerConfiguration.passwordVariable))"
                : "the broker refused user '\(broker.username ?? "")': check --username and the password (--password-file or \(MQTTBrokerConfiguration.passwordVariable))"
        } else {
            hint = nil
        }
        guard let hint else { return error }
        return MQTTError(mqtt.code, mqtt.message + "; " + hint, mosquittoCode: mqtt.mosquittoCode, reasonCode: mqtt.reasonCode)
    }
}
