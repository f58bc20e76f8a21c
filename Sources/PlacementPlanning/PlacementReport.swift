import S2M3Core
import Foundation

/// The stable JSON shape `s2m3 plan --json` prints (schema `s2m3.placement-report/1`): what users and external
/// tools read to evaluate a plan. Milliseconds for times, bytes for memory, keys sorted.
public struct PlacementReport: Sendable, Codable, Hashable {
    public struct TaskReport: Sendable, Codable, Hashable {
        public var latencyMs: Double
        public var rate: Double
        public var priority: Double
        /// Node id → device id.
        public var route: [String: String]
    }

    public struct DeviceReport: Sendable, Codable, Hashable {
        public var memoryBytes: Int
        public var memoryUsedBytes: Int
        public var utilization: Double
        public var modules: [String]
    }

    public struct SharingRow: Sendable, Codable, Hashable {
        public var scope: String
        public var models: [String]
        public var monolithicBytes: Int
        public var splitBytes: Int
        public var sharedBytes: Int
        public var savedBySharing: Double
        public var savedInTotal: Double
    }

    public var schema = "s2m3.placement-report/1"
    public var algorithm: PlacementAlgorithm
    public var steps: [String]
    public var provenOptimal: Bool
    public var budgetExhausted: Bool
    public var searchNodes: Int
    public var objectiveMs: Double
    public var solveMs: Double
    /// Module id → device ids hosting it.
    public var placement: [String: [String]]
    public var tasks: [String: TaskReport]
    public var devices: [String: DeviceReport]
    public var moves: Int
    public var loads: [Placement.ModuleOnDevice]
    public var unloads: [Placement.ModuleOnDevice]
    public var unusedModules: [String]
    /// Present when the instance declares models.
    public var sharing: [SharingRow]?

    public init(instance: PlacementInstance, result: PlacementResult) {
        let placement = result.placement
        algorithm = placement.algorithm
        steps = placement.steps
        provenOptimal = placement.provenOptimal
        budgetExhausted = placement.budgetExhausted
        searchNodes = placement.searchNodes
        objectiveMs = placement.objectiveSeconds * 1000
        solveMs = result.solveSeconds * 1000
        self.placement = placement.hosts
        var tasks: [String: TaskReport] = [:]
        for task in instance.tasks {
            tasks[task.id] = TaskReport(
                latencyMs: (placement.taskLatencySeconds[task.id] ?? .nan) * 1000, rate: task.rate, priority: task.priority,
                route: placement.routes[task.id] ?? [:])
        }
        self.tasks = tasks
        var devices: [String: DeviceReport] = [:]
        for device in instance.devices {
            let hosted = instance.modules.map(\.id).filter { placement.hosts[$0]?.contains(device.id) ?? false }
            devices[device.id] = DeviceReport(
                memoryBytes: device.memoryBytes, memoryUsedBytes: placement.deviceMemoryUsedBytes[device.id] ?? 0,
                utilization: placement.deviceUtilization[device.id] ?? 0, modules: hosted)
        }
        self.devices = devices
        moves = placement.moves
        loads = placement.loads
        unloads = placement.unloads
        unusedModules = placement.unusedModules
        if instance.models.isEmpty {
            sharing = nil
        } else {
            let report = PlacementSharingReport(instance)
            sharing = (report.tasks + [report.allTasks, report.allTasksSeparately]).map {
                SharingRow(
                    scope: $0.scope, models: $0.models, monolithicBytes: $0.monolithicBytes, splitBytes: $0.splitBytes,
                    sharedBytes: $0.sharedBytes, savedBySharing: $0.savedBySharing, savedInTotal: $0.savedInTotal)
            }
        }
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Reads the `placement` (module → devices) back from a report, e.g. to re-plan from it.
    public static func hosts(fromJSON data: Data) throws(PlacementError) -> [String: [String]] {
        struct Minimal: Decodable { var placement: [String: [String]] }
        do {
            return try JSONDecoder().decode(Minimal.self, from: data).placement
        } catch let error as DecodingError {
            throw PlacementError(.malformedInstance, "previous plan: \(PlacementInstance.describe(error))")
        } catch {
            throw PlacementError(.malformedInstance, "previous plan could not be read: \(error)")
        }
    }
}
