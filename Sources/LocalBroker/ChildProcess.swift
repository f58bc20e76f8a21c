import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with default signal handling and an empty signal
/// mask (a child started by Foundation's `Process` inherits the spawning thread's mask; in test
/// runners SIGTERM is often blocked there, and Mosquitto then ignores SIGTERM).
///
/// A dedicated thread waits for the exit (`waitpid`), so nothing blocks the cooperative pool.
/// `@unchecked Sendable`: the mutable exit state is guarded by `lock`; file descriptors are
/// immutable after spawn.
public final class ChildProcess: @unchecked Sendable {
    public enum Input: Sendable { case null, pipe }
    public enum Output: Sendable { case null, inherit, pipe, appendToFile(String) }

    public let processIdentifier: Int32
    /// Write end of the child's stdin when spawned with `.pipe` (close it to send EOF).
    public let standardInput: FileHandle?
    /// Read end of the child's stdout when spawned with `.pipe`.
    public let standardOutput: FileHandle?

    private let lock = NSLock()
    private var status: Int32?
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Int32?, Never>)] = []
    private var nextWaiterID: UInt64 = 0

    private init(pid: Int32, stdin: FileHandle?, stdout: FileHandle?) {
        processIdentifier = pid
        standardInput = stdin
        standardOutput = stdout
    }

    /// Starts `executable` (an absolute path) with `arguments`.
    /// With `newProcessGroup`, a terminal's Ctrl-C does not reach the child directly.
    /// `environment` entries are added to (or replace) this process's environment in the child.
    public static func spawn(
        _ executable: String,
        _ arguments: [String],
        stdin: Input = .null,
        stdout: Output = .inherit,
        stderr: Output = .inherit,
        newProcessGroup: Bool = false,
        environment: [String: String] = [:]
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var parentEnds: [Int32] = []      // closed on failure
        var childEnds: [Int32] = []       // closed in the parent after spawn
        defer { childEnds.forEach { close($0) } }

        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                throw LocalBrokerError(.io, "pipe failed: \(String(cString: strerror(errno)))")
            }
            // Not inherited by other children (pipe2 is not visible from Swift's Glibc).
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return (fds[0], fds[1])
        }

        var stdinHandle: FileHandle?
        switch stdin {
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe:
            let p = try makePipe()
            posix_spawn_file_actions_adddup2(&actions, p.read, 0)
            childEnds.append(p.read)
            parentEnds.append(p.write)
            stdinHandle = FileHandle(fileDescriptor: p.write, closeOnDealloc: true)
        }
        var stdoutHandle: FileHandle?
        for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .inherit:
                break
            case .null:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case let .appendToFile(path):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .pipe:
                let p = try makePipe()
                posix_spawn_file_actions_adddup2(&actions, p.write, fd)
                childEnds.append(p.write)
                parentEnds.append(p.read)
                if fd == 1 { stdoutHandle = FileHandle(fileDescriptor: p.read, closeOnDealloc: true) }
            }
        }

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32
        if environment.isEmpty {
            rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        } else {
            var merged = ProcessInfo.processInfo.environment
            merged.merge(environment) { $1 }
            let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { envp.forEach { free($0) } }
            rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard rc == 0 else {
            parentEnds.forEach { close($0) }
            throw LocalBrokerError(.startFailed, "cannot start '\(executable)': \(String(cString: strerror(rc)))")
        }
        let child = ChildProcess(pid: pid, stdin: stdinHandle, stdout: stdoutHandle)
        let reaper = Thread { [child] in child.reap() }
        reaper.name = "reap \(pid)"
        reaper.start()
        return child
    }

    private func reap() {
        var raw: Int32 = 0
        while waitpid(processIdentifier, &raw, 0) < 0 && errno == EINTR {}
        // Exit status, or 128 + signal number like a shell.
        let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        let waiters = lock.withLock {
            status = code
            defer { self.waiters = [] }
            return self.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: code) }
    }

    public var hasExited: Bool { lock.withLock { status != nil } }

    /// Sends `signal` unless the process has already been reaped.
    public func send(_ signal: Int32) {
        lock.withLock {
            if status == nil { _ = kill(processIdentifier, signal) }
        }
    }

    /// The exit status (128 + signal when killed by a signal), or `nil` if the waiting task is
    /// cancelled first.
    @discardableResult
    public func waitUntilExit() async -> Int32? {
        let id: UInt64 = lock.withLock {
            nextWaiterID += 1
            return nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Int32?, Never>) in
                let done: Int32?? = lock.withLock {
                    if let status { return .some(status) }
                    if Task.isCancelled { return .some(nil) }
                    waiters.append((id, waiter))
                    return .none
                }
                if let done { waiter.resume(returning: done) }
            }
        } onCancel: {
            let waiter = lock.withLock { () -> CheckedContinuation<Int32?, Never>? in
                guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Lines of the child's stdout (spawned with `stdout: .pipe`), read on a dedicated thread.
    public func outputLines() -> AsyncStream<String> {
        AsyncStream { continuation in
            guard let handle = standardOutput else {
                continuation.finish()
                return
            }
            let reader = Thread {
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                        pending.removeSubrange(pending.startIndex...newline)
                    }
                }
                if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
                continuation.finish()
            }
            reader.start()
        }
    }
}
