import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension MosquittoProcess {
    /// Launches `mosquitto -c configPath` and its watchdog, then waits until every port accepts.
    func launch(executable: String) async throws {
        let process = try ChildProcess.spawn(
            executable, ["-c", configPath],
            stdout: .appendToFile(logPath), stderr: .appendToFile(logPath),
            newProcessGroup: true, environment: HeapTuning.childEnvironment
        )
        setBroker(process)
        startWatchdog(for: process.processIdentifier)

        let deadline = ContinuousClock.now + configuration.startTimeout
        while true {
            if process.hasExited {
                killWatchdog()
                let tail = logTail()
                let hint = tail.contains("in use") ? " (address in use)" : ""
                throw LocalBrokerError(.startFailed, "mosquitto exited during start-up\(hint); config \(configPath); log:\n\(tail)")
            }
            if ports.allSatisfy({ Self.accepts(host: host, port: $0) }) { return }
            if ContinuousClock.now >= deadline {
                await terminateBroker()
                throw LocalBrokerError(.timeout, "mosquitto did not accept connections on \(host):\(ports) within \(configuration.startTimeout); log:\n\(logTail())")
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A `sh` that waits for EOF on a pipe only this process writes to, then sends SIGTERM to the
    /// broker: if this process dies without stopping the broker, the broker goes too (and a
    /// temporary work directory with it, once the broker has had time to exit).
    private func startWatchdog(for pid: Int32) {
        let script = """
            read line; kill -TERM "$1" 2>/dev/null
            [ -n "$2" ] || exit 0
            for i in 1 2 3 4 5 6 7 8 9 10; do [ -r "/proc/$1/cmdline" ] && [ -s "/proc/$1/cmdline" ] && sleep 0.2; done
            rm -rf "$2"
            """
        if let watchdog = try? ChildProcess.spawn(
            "/bin/sh", ["-c", script, "s2m3-broker-watchdog", String(pid), ownsWorkDirectory ? workDirectory : ""],
            stdin: .pipe, stdout: .null, stderr: .null, newProcessGroup: true
        ) {
            setWatchdog(watchdog)
        }
        // Without a watchdog the broker still stops on stop()/deinit; only a crash would leak it.
    }

    func killWatchdog() {
        guard let watchdog = takeWatchdog() else { return }
        watchdog.send(SIGKILL)
        try? watchdog.standardInput?.close()
    }

    /// SIGTERM, SIGKILL after 5 s, and wait for the exit.
    func terminateBroker() async {
        killWatchdog()
        guard let process = currentBroker() else { return }
        process.send(SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while !process.hasExited, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        process.send(SIGKILL)
        await process.waitUntilExit()
    }

    /// For deinit: lets the watchdog stop the broker (SIGTERM) and remove a temporary work
    /// directory, without waiting; without a watchdog, sends SIGTERM directly.
    func releaseChildren() {
        if let watchdog = takeWatchdog() {
            try? watchdog.standardInput?.close()
        } else {
            currentBroker()?.send(SIGTERM)
        }
    }

    // MARK: Helpers

    static func findExecutable(_ given: String?) throws -> String {
        if let given {
            guard FileManager.default.isExecutableFile(atPath: given) else {
                throw LocalBrokerError(.executableNotFound, "'\(given)' is not an executable")
            }
            return given
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
            let candidate = directory + "/mosquitto"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw LocalBrokerError(.executableNotFound, "mosquitto not found in PATH or /usr/sbin; run scripts/setup.sh (apt package 'mosquitto')")
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/s2m3-broker-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw LocalBrokerError(.io, "cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        chmod(made, 0o755)
        return String(cString: made)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LocalBrokerError(.io, "socket() failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard ok else { throw LocalBrokerError(.io, "cannot find a free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether `port` on `host` (numeric IPv4) can be bound now (nothing listens there).
    static func isFree(port: Int, host: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether a TCP connection to `host:port` (numeric IPv4) succeeds now.
    static func accepts(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host == "0.0.0.0" ? "127.0.0.1" : host)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                connect(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
