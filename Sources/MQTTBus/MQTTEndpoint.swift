/// One broker address. A connection tries its endpoints in turn.
public struct MQTTEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[v6-address]:port`, or a bare host (port 1883).
    /// Throws ``MQTTError/Code/invalidArgument`` for anything else.
    public init(parsing text: String) throws {
        func invalid() -> MQTTError {
            MQTTError(.invalidArgument, "broker address '\(text)' is not host:port (e.g. 127.0.0.1:1883)")
        }
        var host = Substring(text)
        var port = 1883
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid() }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { throw invalid() }
                port = p
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard text.firstIndex(of: ":") == colon, let p = Int(text[text.index(after: colon)...]) else {
                throw invalid()
            }
            host = text[..<colon]
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw invalid() }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
