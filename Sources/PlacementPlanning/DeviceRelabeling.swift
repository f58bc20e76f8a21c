/// Devices alike in every figure the cost model reads (memory, speed, link) are interchangeable in
/// a placement: swapping what two of them hold changes no prediction. A fresh solve does not know
/// which of them held what, and on a local cluster of equal devices it can return the previous
/// placement mirrored (21–24 moves, module copies loaded or dropped, in one load-driven re-plan
/// of two devices; docs/benchmarks.md). ``relabeled(_:toKeep:devices:)`` renames alike devices
/// so that as many module copies as possible stay where they are, and
/// ``movedBack(_:toward:instance:deadline:)`` puts back the modules whose place the objective
/// hardly depends on.
enum DeviceRelabeling {
    /// How much worse than the fresh solve's objective the modules put back may make it, in all.
    static let moveBackTolerance = 0.01

    /// `placement` with alike devices renamed to keep the most of `previous` (module id → device
    /// ids) in place: within each group of alike devices, pairs are matched greedily by the module
    /// copies they share, most first (ties: declaration order). Unchanged when renaming keeps no
    /// more than it.
    static func relabeled(_ placement: Placement, toKeep previous: [String: [String]], devices: [PlacementDevice]) -> Placement {
        struct Alike: Hashable {
            var memoryBytes: Int
            var gflops: Double
            var link: PlacementLink
        }
        let order = Dictionary(devices.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { first, _ in first })
        /// Device id → the modules `hosts` puts on it.
        func held(_ hosts: [String: [String]]) -> [String: Set<String>] {
            var byDevice: [String: Set<String>] = [:]
            for (module, devices) in hosts { for device in devices { byDevice[device, default: []].insert(module) } }
            return byDevice
        }
        let now = held(placement.hosts), before = held(previous)
        var mapping: [String: String] = [:]
        for group in Dictionary(grouping: devices, by: { Alike(memoryBytes: $0.memoryBytes, gflops: $0.gflops, link: $0.link) }).values
        where group.count > 1 {
            var pairs: [(shared: Int, from: String, to: String)] = []
            for from in group {
                for to in group { pairs.append(((now[from.id] ?? []).intersection(before[to.id] ?? []).count, from.id, to.id)) }
            }
            pairs.sort { ($0.shared, order[$1.from]!, order[$1.to]!) > ($1.shared, order[$0.from]!, order[$0.to]!) }
            var taken: Set<String> = [], given: Set<String> = []
            for pair in pairs where !taken.contains(pair.from) && !given.contains(pair.to) {
                mapping[pair.from] = pair.to
                taken.insert(pair.from)
                given.insert(pair.to)
            }
        }
        func kept(_ hosts: [String: [String]]) -> Int {
            hosts.reduce(0) { sum, entry in sum + Set(entry.value).intersection(previous[entry.key] ?? []).count }
        }
        func rename(_ device: String) -> String { mapping[device] ?? device }
        var renamed = placement
        renamed.hosts = placement.hosts.mapValues { $0.map(rename).sorted { order[$0, default: .max] < order[$1, default: .max] } }
        guard kept(renamed.hosts) > kept(placement.hosts) else { return placement }
        renamed.routes = placement.routes.mapValues { $0.mapValues(rename) }
        renamed.deviceMemoryUsedBytes = Dictionary(placement.deviceMemoryUsedBytes.map { (rename($0.key), $0.value) }, uniquingKeysWith: +)
        renamed.deviceUtilization = Dictionary(placement.deviceUtilization.map { (rename($0.key), $0.value) }, uniquingKeysWith: +)
        renamed.loads = placement.loads.map { .init(module: $0.module, device: rename($0.device)) }.sorted()
        renamed.unloads = placement.unloads.map { .init(module: $0.module, device: rename($0.device)) }.sorted()
        return renamed
    }

    /// `placement` with each module whose hosts differ from `previous` put back on its previous
    /// hosts (module id order) while the objective stays within ``moveBackTolerance`` of
    /// `placement`'s and every device within its memory; stops at `deadline`.
    static func movedBack(
        _ placement: Placement, toward previous: [String: [String]], instance: PlacementInstance, deadline: ContinuousClock.Instant?
    ) -> Placement {
        guard let model = try? CostModel(instance) else { return placement }
        let memory = Dictionary(instance.devices.map { ($0.id, $0.memoryBytes) }, uniquingKeysWith: { first, _ in first })
        let limit = placement.objectiveSeconds * (1 + moveBackTolerance)
        var hosts = placement.hosts
        var best: CostModel.Evaluation?
        for module in hosts.keys.sorted() {
            if let deadline, ContinuousClock.now >= deadline { break }
            guard let before = previous[module], !before.isEmpty, Set(before) != Set(hosts[module] ?? []),
                  before.allSatisfy({ memory[$0] != nil })
            else { continue }
            var candidate = hosts
            candidate[module] = before
            guard let evaluation = try? model.evaluate(hosts: candidate), evaluation.objectiveSeconds <= limit,
                  evaluation.deviceMemoryUsedBytes.allSatisfy({ $0.value <= memory[$0.key, default: 0] })
            else { continue }
            hosts = candidate
            best = evaluation
        }
        guard let best else { return placement }
        var result = placement
        result.hosts = hosts
        result.routes = best.routes
        result.taskLatencySeconds = best.taskLatencySeconds
        result.objectiveSeconds = best.objectiveSeconds
        result.deviceMemoryUsedBytes = best.deviceMemoryUsedBytes
        result.deviceUtilization = best.deviceUtilization
        result.steps.append("kept in place: modules the objective hardly depends on (within \(Int(moveBackTolerance * 100)) %)")
        return result
    }
}
