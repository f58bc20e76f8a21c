#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads a Prometheus endpoint the way a scraper does: one HTTP/1.1 GET over a plain TCP socket
/// (no HTTP library in the tests), and the exposition text parsed into samples.
public enum MetricsScrape {
    public struct Response: Sendable {
        public var status: Int
        public var head: String
        public var body: String
    }

    public struct ScrapeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// One sample line: `name{label="value",…} value`.
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double

        public init(name: String, labels: [String: String], value: Double) {
            self.name = name
            self.labels = labels
            self.value = value
        }
    }

    /// `GET path` from `127.0.0.1:port` (or `method`), the whole response read until the server
    /// closes, on a thread of its own: the blocking socket calls never hold a thread of the
    /// cooperative pool (which the endpoint under test may need to start).
    public static func get(port: Int, path: String = "/metrics", method: String = "GET", host: String = "127.0.0.1") async throws -> Response {
        let result: Result<Response, any Error> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { try getBlocking(port: port, path: path, method: method, host: host) })
            }
            thread.start()
        }
        return try result.get()
    }

    /// ``get(port:path:method:host:)`` on the calling thread.
    public static func getBlocking(port: Int, path: String = "/metrics", method: String = "GET", host: String = "127.0.0.1") throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScrapeError(description: "socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ScrapeError(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))") }
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/plain\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ScrapeError(description: "no HTTP head in: \(text.prefix(200))") }
        let head = String(text[..<split.lowerBound])
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Response(status: status, head: head, body: String(text[split.upperBound...]))
    }

    /// A connection to `127.0.0.1:port` that sends nothing (a stalled client); close it with `close`.
    public static func connectSilently(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw ScrapeError(description: "cannot connect to 127.0.0.1:\(port)") }
        return fd
    }

    /// The samples of an exposition text (comments skipped; label values without escapes).
    public static func samples(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)...].dropLast().split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }
}

extension Array where Element == MetricsScrape.Sample {
    /// The samples named `name` whose labels include `labels`.
    public func named(_ name: String, _ labels: [String: String] = [:]) -> [MetricsScrape.Sample] {
        filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The sum of the values of ``named(_:_:)``.
    public func total(_ name: String, _ labels: [String: String] = [:]) -> Double {
        named(name, labels).reduce(0) { $0 + $1.value }
    }
}

extension MetricsScrape {
    /// The first of `count` consecutive loopback ports that nothing listens on now (each bound
    /// and released once; another process may still take one before it is used).
    public static func freePortBase(count: Int) throws -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...(60_000 - count))
            if (base..<(base + count)).allSatisfy(isFree) { return base }
        }
        throw ScrapeError(description: "no \(count) consecutive free ports found")
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
