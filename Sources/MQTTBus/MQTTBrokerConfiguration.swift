import Foundation

/// Where a broker is and how to log in to it: the part of an ``MQTTConfiguration`` that every
/// process of one cluster shares (the `s2m3` commands, the services, ``S2M3Client`` users).
///
/// Build it directly, or with ``init(endpoints:tlsCA:tlsCert:tlsKey:tlsServerName:username:passwordFile:environment:)``
/// from the settings a command line or a deployment gives: files are checked and the password is
/// read there, so a wrong path fails at once with the file's name. A password is only ever read
/// from a file or from the environment (``passwordVariable``), never taken as an argument.
public struct MQTTBrokerConfiguration: Sendable, CustomStringConvertible {
    /// Environment variable with the password, used when no password file is given.
    public static let passwordVariable = "S2M3_MQTT_PASSWORD"
    /// Environment variable with the user name, used when none is given.
    public static let usernameVariable = "S2M3_MQTT_USERNAME"

    public var endpoints: [MQTTEndpoint]
    public var tls: MQTTTLSConfiguration?
    public var username: String?
    public var password: String?

    public init(endpoints: [MQTTEndpoint], tls: MQTTTLSConfiguration? = nil, username: String? = nil, password: String? = nil) {
        self.endpoints = endpoints
        self.tls = tls
        self.username = username
        self.password = password
    }

    /// Checks the TLS files (readable), reads the password from `passwordFile` (its first line),
    /// else from `$S2M3_MQTT_PASSWORD`, and the user name from `username`, else
    /// `$S2M3_MQTT_USERNAME`. Throws ``MQTTError`` `invalidArgument` naming the file or setting
    /// that is wrong.
    public init(
        endpoints: [MQTTEndpoint],
        tlsCA: String? = nil,
        tlsCert: String? = nil,
        tlsKey: String? = nil,
        tlsServerName: String? = nil,
        username: String? = nil,
        passwordFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(MQTTError) {
        guard !endpoints.isEmpty else { throw MQTTError(.invalidArgument, "no broker address given") }
        for (role, path) in [("TLS CA file", tlsCA), ("TLS client certificate", tlsCert), ("TLS client key", tlsKey)] {
            if let path { try Self.checkReadable(path, role) }
        }
        if tlsCA == nil, tlsCert != nil || tlsKey != nil || tlsServerName != nil {
            throw MQTTError(.invalidArgument, "a TLS client certificate, key or server name needs the CA file that signed the broker's certificate too")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw MQTTError(.invalidArgument, "a TLS client certificate and its key must be given together")
        }
        if let tlsServerName, tlsServerName.isEmpty || tlsServerName.contains(where: { $0 == " " || $0 == "/" }) {
            throw MQTTError(.invalidArgument, "TLS server name '\(tlsServerName)' is not a host name or IP address")
        }
        let password: String?
        if let passwordFile {
            password = try Self.readPassword(passwordFile)
        } else if let given = environment[Self.passwordVariable], !given.isEmpty {
            password = given
        } else {
            password = nil
        }
        let user = username ?? environment[Self.usernameVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let user, user.isEmpty || user.utf8.count > 65535 {
            throw MQTTError(.invalidArgument, "the user name is empty or too long")
        }
        if password != nil, user == nil {
            throw MQTTError(.invalidArgument, "a password was given (\(passwordFile.map { "file '\($0)'" } ?? "$\(Self.passwordVariable)")) but no user name; give one too (or $\(Self.usernameVariable))")
        }
        self.init(
            endpoints: endpoints,
            tls: tlsCA.map { MQTTTLSConfiguration(caFile: $0, certFile: tlsCert, keyFile: tlsKey, serverName: tlsServerName) },
            username: user, password: password)
    }

    /// A connection configuration for `clientID` with these endpoints and credentials.
    public func configuration(clientID: String, will: MQTTMessage? = nil) -> MQTTConfiguration {
        MQTTConfiguration(endpoints: endpoints, clientID: clientID, username: username, password: password, tls: tls, will: will)
    }

    /// `mqtt://host:port` or `mqtts://host:port`, with the user (never the password).
    public var description: String {
        let scheme = tls == nil ? "mqtt" : "mqtts"
        let addresses = endpoints.map { "\(scheme)://\($0)" }.joined(separator: ", ")
        return addresses + (username.map { " as '\($0)'" } ?? "")
    }

    /// The first line of a password file, without its line ending.
    public static func readPassword(_ path: String) throws(MQTTError) -> String {
        try checkReadable(path, "password file")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MQTTError(.invalidArgument, "cannot read the password file '\(path)'; check the path and permissions")
        }
        let text = String(decoding: data, as: UTF8.self)
        let password = String(text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).first ?? "")
        guard !password.isEmpty else {
            throw MQTTError(.invalidArgument, "the password file '\(path)' is empty (the password is its first line)")
        }
        return password
    }

    private static func checkReadable(_ path: String, _ role: String) throws(MQTTError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MQTTError(.invalidArgument, "the \(role) '\(path)' does not exist; check the path")
        }
        guard !isDirectory.boolValue else { throw MQTTError(.invalidArgument, "the \(role) '\(path)' is a folder, not a file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw MQTTError(.invalidArgument, "the \(role) '\(path)' is not readable by this user; check its permissions")
        }
    }
}
