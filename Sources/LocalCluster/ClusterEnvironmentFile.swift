import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `${S2M3_CACHE:-.cache}/cluster.env`: where a running `s2m3 up` tells the other commands how to
/// reach its broker. `up` writes it once the broker runs and removes it when it stops; a command
/// given no `--broker` reads it (the CLI's `BrokerOptions`). `KEY=value` lines, so a shell can source it:
///
///     S2M3_MQTT_BROKER=127.0.0.1:1883
///     S2M3_MQTT_ROOT=s2m3/v1
///     S2M3_MQTT_TLS_CA=/tmp/s2m3-up-secrets-…/ca.crt          (up --secure only)
///     S2M3_MQTT_USERNAME=client                               (up --secure only)
///     S2M3_MQTT_PASSWORD_FILE=/tmp/s2m3-up-secrets-…/client.password  (up --secure only)
///     S2M3_UP_PID=12345
///
/// A file whose `S2M3_UP_PID` no longer runs (an `up` killed with SIGKILL) is ignored.
public struct ClusterEnvironmentFile: Equatable, Sendable {
    public var broker: String
    public var root: String
    public var tlsCA: String?
    public var username: String?
    public var passwordFile: String?
    public var upProcess: Int32

    /// `${S2M3_CACHE:-.cache}/cluster.env`.
    public static var path: String { CacheDirectory.file("cluster.env") }

    public var text: String {
        var lines = ["# Written by `s2m3 up` (pid \(upProcess)) for the other s2m3 commands; removed when it stops."]
        lines.append("S2M3_MQTT_BROKER=\(broker)")
        lines.append("S2M3_MQTT_ROOT=\(root)")
        if let tlsCA { lines.append("S2M3_MQTT_TLS_CA=\(tlsCA)") }
        if let username { lines.append("S2M3_MQTT_USERNAME=\(username)") }
        if let passwordFile { lines.append("S2M3_MQTT_PASSWORD_FILE=\(passwordFile)") }
        lines.append("S2M3_UP_PID=\(upProcess)")
        return lines.joined(separator: "\n") + "\n"
    }

    public init(broker: String, root: String, tlsCA: String? = nil, username: String? = nil, passwordFile: String? = nil, upProcess: Int32 = getpid()) {
        self.broker = broker
        self.root = root
        self.tlsCA = tlsCA
        self.username = username
        self.passwordFile = passwordFile
        self.upProcess = upProcess
    }

    /// Parses the file's text; nil when it names no broker.
    public init?(text: String) {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let broker = values["S2M3_MQTT_BROKER"], !broker.isEmpty else { return nil }
        self.init(
            broker: broker, root: values["S2M3_MQTT_ROOT"] ?? "s2m3/v1", tlsCA: values["S2M3_MQTT_TLS_CA"],
            username: values["S2M3_MQTT_USERNAME"], passwordFile: values["S2M3_MQTT_PASSWORD_FILE"],
            upProcess: values["S2M3_UP_PID"].flatMap { Int32($0) } ?? 0)
    }

    /// The file of a running `up`, or nil (no file, unreadable, or its `up` has gone).
    public static func current(path: String = ClusterEnvironmentFile.path) -> ClusterEnvironmentFile? {
        guard let data = FileManager.default.contents(atPath: path),
              let file = ClusterEnvironmentFile(text: String(decoding: data, as: UTF8.self))
        else { return nil }
        guard file.upProcess > 0, kill(file.upProcess, 0) == 0 || errno == EPERM else { return nil }
        return file
    }

    /// Writes the file (creating the cache folder if needed), readable by this user only.
    public func write(path: String = ClusterEnvironmentFile.path) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
    }

    /// Removes the file if it is still this one (another `up` may have replaced it since).
    public func remove(path: String = ClusterEnvironmentFile.path) {
        guard let data = FileManager.default.contents(atPath: path),
              ClusterEnvironmentFile(text: String(decoding: data, as: UTF8.self)) == self
        else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
