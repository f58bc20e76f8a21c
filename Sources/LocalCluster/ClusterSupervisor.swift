import Foundation
import LocalBroker
import Synchronization

/// Watches a cluster's children from the moment they start: a service or the broker that exits
/// while the cluster runs is restarted with the same arguments (the broker on the same port) after
/// the ``RestartPolicy``'s back-off, each exit and restart told as a ``ClusterEvent``. A crash
/// loop (the policy's crash limit within its window), a broker that exits with status 0 or
/// without a policy, or a service that exits during start-up without a policy, is the cluster's
/// ``failure()``. A service that exits with status 0 (it was stopped on purpose, e.g. SIGTERM) is
/// told and not restarted. After ``cancel()`` nothing is restarted.
final class ClusterSupervisor: Sendable {
    private let processes: ClusterProcesses
    private let mosquitto: MosquittoProcess?
    private let policy: RestartPolicy?
    private let access: UpBrokerAccess
    private let metricsPorts: [String: Int]
    private let events: @Sendable (ClusterEvent) -> Void
    private let ready = Mutex(false)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let outcome = Outcome()

    init(
        processes: ClusterProcesses, mosquitto: MosquittoProcess?, policy: RestartPolicy?, access: UpBrokerAccess,
        metricsPorts: [String: Int], events: @escaping @Sendable (ClusterEvent) -> Void
    ) {
        self.processes = processes
        self.mosquitto = mosquitto
        self.policy = policy
        self.access = access
        self.metricsPorts = metricsPorts
        self.events = events
    }

    /// Starts watching every child started so far; ``cancel()`` (or ``RunningCluster/stop()``) ends it.
    func begin() {
        let names = processes.all.map(\.name)
        let watching = Task { [self] in outcome.finish(await self.watchAll(names)) }
        task.withLock { $0 = watching }
    }

    func markReady() { ready.withLock { $0 = true } }

    /// Why the cluster must stop; nil after ``cancel()`` or when the waiting task is cancelled.
    func failure() async -> LocalClusterError? { await outcome.wait() }

    func cancel() {
        task.withLock { $0 }?.cancel()
        outcome.finish(nil)
    }

    private func watchAll(_ names: [String]) async -> LocalClusterError? {
        await withTaskGroup(of: LocalClusterError?.self) { group in
            for name in names { group.addTask { await self.watchService(name) } }
            if let mosquitto { group.addTask { await self.watchBroker(mosquitto) } }
            while let next = await group.next() {
                if let next {
                    group.cancelAll()
                    return Task.isCancelled ? nil : next
                }
            }
            return nil
        }
    }

    private var stopped: Bool { Task.isCancelled || processes.isStopping }

    private func watchService(_ name: String) async -> LocalClusterError? {
        var history = policy.map(CrashHistory.init)
        while let member = processes.member(name) {
            let status = await member.process.waitUntilExit()
            if stopped { return nil }
            let tail = ClusterProcesses.logTail(member.logPath)
            guard status != 0, var crashes = history else {
                events(.serviceExited(name: name, status: status, logTail: tail, restartIn: nil, crash: 0))
                if !ready.withLock({ $0 }) {
                    return LocalClusterError(.start, "\(name) exited during start-up (status \(status ?? -1)); its log \(member.logPath) ends:\n\(tail)")
                }
                return nil
            }
            switch crashes.record(at: .now) {
            case .crashLoop(let count):
                return LocalClusterError(
                    .crashLoop,
                    "\(name) crashed \(count) times within \(crashes.policy.window) (a crash loop; status \(status ?? -1)), so the cluster stops; "
                        + "its log \(member.logPath) ends:\n\(tail)")
            case .restart(let delay, let crash):
                history = crashes
                events(.serviceExited(name: name, status: status, logTail: tail, restartIn: delay, crash: crash))
                guard (try? await Task.sleep(for: delay)) != nil, !stopped else { return nil }
                do {
                    guard let restarted = try processes.restart(name) else { return nil }
                    events(.serviceRestarted(ClusterService(
                        name: name, pid: restarted.process.processIdentifier, metricsPort: metricsPorts[name], log: restarted.logPath)))
                } catch {
                    return LocalClusterError(.start, "cannot restart \(name): \(error); its log is \(member.logPath)")
                }
            }
        }
        return nil
    }

    private func watchBroker(_ mosquitto: MosquittoProcess) async -> LocalClusterError? {
        var history = policy.map(CrashHistory.init)
        while true {
            let status = await mosquitto.waitUntilExit()
            if stopped { return nil }
            let tail = mosquitto.logTail()
            guard status != 0, var crashes = history else {
                events(.brokerExited(status: status, logTail: tail, restartIn: nil, crash: 0))
                return LocalClusterError(.brokerExited, "the broker exited unexpectedly (status \(status ?? -1)); its log \(mosquitto.logPath) ends:\n\(tail)")
            }
            switch crashes.record(at: .now) {
            case .crashLoop(let count):
                return LocalClusterError(
                    .crashLoop,
                    "the broker crashed \(count) times within \(crashes.policy.window) (a crash loop; status \(status ?? -1)), so the cluster stops; "
                        + "its log \(mosquitto.logPath) ends:\n\(tail)")
            case .restart(let delay, let crash):
                history = crashes
                events(.brokerExited(status: status, logTail: tail, restartIn: delay, crash: crash))
                guard (try? await Task.sleep(for: delay)) != nil, !stopped else { return nil }
                // A failed start leaves an exited broker process: the next turn counts it as a crash.
                if (try? await mosquitto.restart()) != nil, !stopped {
                    events(.brokerRestarted(RunningCluster.describe(access, mosquitto, portTaken: false)))
                }
            }
        }
    }
}

/// The supervisor's one outcome, awaited by any number of tasks (each may be cancelled).
private final class Outcome: Sendable {
    private struct State {
        var value: LocalClusterError??
        var waiters: [UInt64: CheckedContinuation<LocalClusterError?, Never>] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The first call wins.
    func finish(_ value: LocalClusterError?) {
        let waiters: [CheckedContinuation<LocalClusterError?, Never>] = state.withLock { state in
            guard state.value == nil else { return [] }
            state.value = .some(value)
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The outcome, or nil when the waiting task is cancelled first.
    func wait() async -> LocalClusterError? {
        let id: UInt64 = state.withLock { state in
            state.next += 1
            return state.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<LocalClusterError?, Never>) in
                let (done, value): (Bool, LocalClusterError?) = state.withLock {
                    if let value = $0.value { return (true, value) }
                    if Task.isCancelled { return (true, nil) }
                    $0.waiters[id] = waiter
                    return (false, nil)
                }
                if done { waiter.resume(returning: value) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
