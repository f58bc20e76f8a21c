#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A TCP listening socket on an IPv4 address, and the few blocking calls the metrics endpoint
/// makes on it and its connections: every socket call of ``MetricsEndpointService`` goes through
/// here. Owns its descriptor (closed by ``close()`` or in `deinit`, once: `closed` is atomic); the
/// accept loop of one thread is its only other user, and `descriptor` and `port` never change,
/// hence `Sendable`.
final class ListeningSocket: Sendable {
    let descriptor: Int32
    private let closed = Atomic<Bool>(false)
    /// The port bound (the one chosen by the system when asked for 0).
    let port: Int

    init(host: String, port: Int) throws(MetricsEndpointError) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw MetricsEndpointError(code: .badAddress, errno: nil, message: "'\(host)' is not an IPv4 address; give one such as 0.0.0.0 or 127.0.0.1")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure(.socket, "cannot make a socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = Self.failure(.bind, "cannot listen on \(host):\(port) (is the port taken? give another --metrics-port)")
            Glibc.close(fd)
            throw error
        }
        guard listen(fd, 16) == 0 else {
            let error = Self.failure(.listen, "cannot listen on \(host):\(port)")
            Glibc.close(fd)
            throw error
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close() }

    /// Stops listening: connections are refused from now on. Call it after the accept loop ended.
    func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        _ = Glibc.close(descriptor)
    }

    /// The next connection, or nil when none came within `timeoutMs`.
    func accept(timeoutMs: Int32) -> Int32? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMs) > 0 else { return nil }
        let connection = Glibc.accept(descriptor, nil, nil)
        guard connection >= 0 else { return nil }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)  // not inherited by child processes
        return connection
    }

    /// Reads a request head from `connection` (at most `limit` bytes, `timeoutSeconds` per read
    /// and for the whole head, so a slow client cannot hold the endpoint), answers it with
    /// `respond`, and closes the connection.
    static func serve(_ connection: Int32, limit: Int, timeoutSeconds: Int, respond: ([UInt8]) -> [UInt8]) {
        let deadline = ContinuousClock.now + .seconds(timeoutSeconds)
        defer { Glibc.close(connection) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while head.count < limit, !MetricsHTTPExchange.isComplete(head), ContinuousClock.now < deadline {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            head += chunk[..<count]
        }
        guard !head.isEmpty else { return }
        let response = respond(head)
        var sent = 0
        while sent < response.count {
            let count = response[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    private static func failure(_ code: MetricsEndpointError.Code, _ what: String) -> MetricsEndpointError {
        let number = errno
        return MetricsEndpointError(code: code, errno: number, message: "\(what): \(String(cString: strerror(number)))")
    }
}
