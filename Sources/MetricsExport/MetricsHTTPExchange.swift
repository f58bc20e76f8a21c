/// One HTTP/1.1 exchange of the metrics endpoint, without I/O: the request head in, the response
/// bytes out. `GET /metrics` (a query string is ignored) answers the exposition text; `GET /`
/// names the path; any other path is 404, any other method 405, an unreadable head 400. Every
/// response closes the connection (`Connection: close`), so one exchange is one connection.
public enum MetricsHTTPExchange {
    /// The largest request head read (Prometheus sends a few hundred bytes).
    public static let maximumHeadBytes = 8 * 1024
    /// The exposition format's content type (Prometheus text format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// What a request head asks for.
    public enum Request: Equatable, Sendable {
        case metrics
        case index
        case notFound(path: String)
        case methodNotAllowed(method: String)
        case malformed
    }

    /// Whether `bytes` hold a complete head (ends with an empty line).
    public static func isComplete(_ bytes: [UInt8]) -> Bool {
        let end: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return false }
        for start in 0...(bytes.count - 4) where bytes[start..<(start + 4)].elementsEqual(end) { return true }
        return false
    }

    /// Reads the request line of `head`.
    public static func parse(_ head: [UInt8]) -> Request {
        guard let lineEnd = head.firstIndex(of: 13) ?? head.firstIndex(of: 10) else { return .malformed }
        let parts = String(decoding: head[..<lineEnd], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), !parts[0].isEmpty, parts[1].hasPrefix("/") else { return .malformed }
        let path = String(parts[1].prefix { $0 != "?" })
        guard parts[0] == "GET" || parts[0] == "HEAD" else { return .methodNotAllowed(method: String(parts[0])) }
        switch path {
        case "/metrics": return .metrics
        case "/": return .index
        default: return .notFound(path: path)
        }
    }

    /// The response to `request`; `exposition` is called only for `/metrics`. A `HEAD` request
    /// gets the same head without the body when `includeBody` is false.
    public static func response(to request: Request, includeBody: Bool = true, exposition: () -> [UInt8]) -> [UInt8] {
        switch request {
        case .metrics:
            return encode(status: "200 OK", contentType: contentType, body: exposition(), includeBody: includeBody)
        case .index:
            return encode(status: "200 OK", contentType: "text/plain; charset=utf-8", body: Array("S2M3 metrics: GET /metrics\n".utf8), includeBody: includeBody)
        case .notFound(let path):
            return encode(status: "404 Not Found", contentType: "text/plain; charset=utf-8", body: Array("no \(path) here; the metrics are at /metrics\n".utf8), includeBody: includeBody)
        case .methodNotAllowed(let method):
            return encode(status: "405 Method Not Allowed", contentType: "text/plain; charset=utf-8", body: Array("\(method) is not served; use GET /metrics\n".utf8), extra: "Allow: GET, HEAD\r\n", includeBody: includeBody)
        case .malformed:
            return encode(status: "400 Bad Request", contentType: "text/plain; charset=utf-8", body: Array("not an HTTP/1.x request line; use GET /metrics\n".utf8), includeBody: includeBody)
        }
    }

    /// Whether the request line's method is HEAD.
    public static func isHead(_ head: [UInt8]) -> Bool { head.starts(with: Array("HEAD ".utf8)) }

    static func encode(status: String, contentType: String, body: [UInt8], extra: String = "", includeBody: Bool) -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
        return Array(head.utf8) + (includeBody ? body : [])
    }
}
