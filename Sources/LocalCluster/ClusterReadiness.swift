import Foundation
import MQTTBus
import S2M3Core

/// Follows a cluster coming up: the retained `plan` and every device's telemetry, until a plan
/// names all the expected devices and each of them reports that plan's assignment `applied`.
public struct ClusterReadiness: Sendable {
    /// What was seen by the time the cluster was ready (or the wait ended).
    public struct Snapshot: Sendable {
        public var plan: PlanMessage?
        /// Device → the latest assignment report.
        public var assignments: [String: DeviceTelemetry.AssignmentReport] = [:]
        /// Device → the latest telemetry.
        public var telemetry: [String: DeviceTelemetry] = [:]
        /// When the first plan naming every device arrived (since the wait began).
        public var planAfter: Duration?
        public var readyAfter: Duration?

        public init() {}

        public func isReady(devices: [String]) -> Bool {
            guard let plan, Set(plan.devices) == Set(devices) else { return false }
            return devices.allSatisfy { assignments[$0]?.epoch == plan.epoch && assignments[$0]?.status == .applied }
        }

        /// Devices that refused the current plan's assignment, with the reason.
        public func refusals() -> [String: String] {
            guard let plan else { return [:] }
            return assignments.filter { $0.value.epoch == plan.epoch && $0.value.status == .refused }
                .mapValues { $0.reason ?? "no reason given" }
        }
    }

    public let topics: Topics
    public let devices: [String]

    public init(topics: Topics, devices: [String]) {
        self.topics = topics
        self.devices = devices
    }

    /// Reads `messages` (already subscribed to `plan` and `devices/+/telemetry`) until ready or
    /// `timeout`; `progress` is told each new plan epoch and each refusal once.
    public func wait(
        messages: MQTTMessageStream, timeout: Duration, progress: @escaping @Sendable (String) -> Void
    ) async -> Snapshot {
        let start = ContinuousClock.now
        let latest = SnapshotBox()
        return await withTaskGroup(of: Snapshot?.self) { group in
            group.addTask {
                var snapshot = Snapshot()
                defer { latest.set(snapshot) }
                var told: Set<String> = []
                for await message in messages {
                    guard !message.payload.isEmpty else { continue }
                    if message.topic == topics.plan, let plan = try? PlanMessage(json: message.payload) {
                        snapshot.plan = plan
                        if Set(plan.devices) == Set(devices), snapshot.planAfter == nil {
                            snapshot.planAfter = ContinuousClock.now - start
                        }
                        progress("plan epoch \(plan.epoch) for \(plan.devices.joined(separator: ", "))"
                            + (plan.unavailableTasks.map { ", unavailable: \($0.keys.sorted().joined(separator: ", "))" } ?? ""))
                    } else if let device = topics.device(fromDeviceTopic: message.topic),
                              message.topic == topics.deviceTelemetry(device),
                              let report = try? DeviceTelemetry(json: message.payload) {
                        snapshot.telemetry[device] = report
                        if let assignment = report.assignment {
                            snapshot.assignments[device] = assignment
                            let key = "\(device) \(assignment.epoch) \(assignment.status.rawValue)"
                            if assignment.status != .loading, told.insert(key).inserted {
                                progress("\(device): assignment of epoch \(assignment.epoch) \(assignment.status.rawValue)"
                                    + (assignment.reason.map { " (\($0))" } ?? ""))
                            }
                        }
                    }
                    latest.set(snapshot)
                    if snapshot.isReady(devices: devices) {
                        snapshot.readyAfter = ContinuousClock.now - start
                        return snapshot
                    }
                    if Task.isCancelled { break }
                }
                return snapshot
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next().flatMap { $0 } ?? latest.get()
        }
    }

    private final class SnapshotBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Snapshot()
        func set(_ snapshot: Snapshot) { lock.withLock { value = snapshot } }
        func get() -> Snapshot { lock.withLock { value } }
    }
}
